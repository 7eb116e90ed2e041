"""The `amparo-verify` command: check an Amparo evidence bundle offline.

    amparo-verify BUNDLE --key VKEY [--witness VKEY ...] [--quorum K]

Prints one line: "OK: ..." and exits 0, or "FAIL: <file>: <check>" and exits 1. Exit status 2
means the command itself was used wrongly (a missing argument, an unreadable key).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from amparo.evidence import note
from amparo.evidence.verify import VerificationFailure, verify_bundle

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def read_keys(value: str) -> list[str]:
    """A key given on the command line, or every key in a file (one per line) if it names one."""
    if _is_file(value):
        try:
            # utf-8-sig: Windows editors often start a UTF-8 file with a byte order mark.
            text = Path(value).read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{value}: cannot read the key file ({error})") from None
        keys = [line.strip() for line in text.splitlines() if line.strip()]
    elif "+" in value:
        keys = [value.strip()]
    else:
        raise ValueError(f"{value}: is neither a key (NAME+ID+KEY) nor a key file")
    for key in keys:
        try:
            note.parse_verifier_key(key)
        except note.NoteError as error:
            raise ValueError(f"{value}: not a verifier key: {error}") from None
    if not keys:
        raise ValueError(f"{value}: holds no key")
    return keys


def _is_file(value: str) -> bool:
    try:
        return Path(value).is_file()
    except OSError:
        return False


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for amparo-verify."""
    parser = argparse.ArgumentParser(
        prog="amparo-verify",
        description=(
            "Check an Amparo evidence bundle offline: every file against the manifests, the "
            "signatures by the network's log key, the witnesses' cosignatures, each custody "
            "entry's receipt, and each original against its custody record."
        ),
        epilog="Obtain the keys from the network and the witnesses, not from the bundle.",
    )
    parser.add_argument("bundle", metavar="BUNDLE", help="a bundle directory or its .zip file")
    parser.add_argument(
        "--key", required=True, metavar="VKEY", help="the network's log key, or a file holding it"
    )
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="VKEY",
        help="a witness's key, or a file of keys one per line; give once per witness",
    )
    parser.add_argument(
        "--quorum",
        type=int,
        metavar="K",
        help="how many of the witnesses must have cosigned (default: all of them)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run amparo-verify; return the exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        (log_key, *extra) = read_keys(arguments.key)
        if extra:
            raise ValueError(f"{arguments.key}: give exactly one log key, not {len(extra) + 1}")
        witness_keys = [key for value in arguments.witness for key in read_keys(value)]
        quorum = arguments.quorum
        if quorum is not None and not 0 <= quorum <= len(witness_keys):
            raise ValueError(f"--quorum {quorum} needs at least {quorum} --witness keys")
    except ValueError as error:
        parser.error(str(error))
    try:
        report = verify_bundle(Path(arguments.bundle), log_key, witness_keys, quorum)
    except VerificationFailure as failure:
        print(f"FAIL: {failure.file}: {failure.check}")
        return EXIT_FAILED
    except ValueError as error:
        parser.error(str(error))
    print(report.summary())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
