"""The `amparo-evidence` command: run an evidence store and a witness without a server.

amparo-evidence init DIR --origin NAME            create a store; prints the log key
amparo-evidence ingest DIR FILE...                store originals; prints "id sha256 file"
amparo-evidence checkpoint DIR                    sign a checkpoint; prints it
amparo-evidence bundle DIR ID... --out OUT        export a bundle (--zip for one file)
amparo-evidence fixity DIR                        re-check every original; exit 1 on damage
amparo-evidence witness init WDIR --name NAME     create a witness; prints its key
amparo-evidence witness cosign WDIR --log-key VKEY --store DIR
                                                  cosign the store's latest checkpoint
"""

from __future__ import annotations

import argparse
import mimetypes
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from amparo.evidence import note
from amparo.evidence.blobstore import BlobStoreError
from amparo.evidence.store import EvidenceStore
from amparo.evidence.witness import Witness

WITNESS_SKEY_FILE = "witness.skey"
WITNESS_VKEY_FILE = "witness.vkey"
WITNESS_STATE_DIR = "state"


class CommandError(Exception):
    """Something the person running the command can fix; printed without a traceback."""


def open_witness(directory: Path) -> Witness:
    """Load the witness kept in `directory` by `witness init`."""
    try:
        skey = (directory / WITNESS_SKEY_FILE).read_text("utf-8").strip()
    except OSError as error:
        raise CommandError(f"{directory}: not a witness directory ({error.strerror})") from None
    return Witness(directory / WITNESS_STATE_DIR, skey)


def _init(arguments: argparse.Namespace) -> None:
    store, vkey = EvidenceStore.init(Path(arguments.dir), arguments.origin)
    store.close()
    print(vkey)


def _ingest(arguments: argparse.Namespace) -> None:
    with EvidenceStore.open(Path(arguments.dir)) as store:
        for name in arguments.files:
            path = Path(name)
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            try:
                stream = path.open("rb")
            except OSError as error:
                raise CommandError(f"{path}: cannot read ({error.strerror})") from None
            with stream:
                item = store.ingest(
                    stream,
                    filename=path.name,
                    media_type=media_type,
                    actor_role=arguments.actor_role,
                    actor_id=arguments.actor_id,
                )
            print(f"{item.id}  {item.sha256}  {path.name}")


def _checkpoint(arguments: argparse.Namespace) -> None:
    with EvidenceStore.open(Path(arguments.dir)) as store:
        print(store.checkpoint(), end="")


def _bundle(arguments: argparse.Namespace) -> None:
    witnesses = [open_witness(Path(directory)) for directory in arguments.witness]
    with EvidenceStore.open(Path(arguments.dir)) as store:
        result = store.bundle(
            arguments.ids,
            Path(arguments.out),
            witnesses=witnesses,
            actor_role=arguments.actor_role,
            actor_id=arguments.actor_id,
            zip=arguments.zip,
        )
    print(result)


def _fixity(arguments: argparse.Namespace) -> int:
    with EvidenceStore.open(Path(arguments.dir)) as store:
        problems = store.fixity()
        count = len(store.items())
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        return 1
    print(f"OK: {count} originals and their custody entries intact")
    return 0


def _witness_init(arguments: argparse.Namespace) -> None:
    directory = Path(arguments.wdir)
    if directory.exists() and any(directory.iterdir()):
        raise CommandError(f"{directory}: already exists and is not empty")
    skey, vkey = note.generate_cosignature_key(arguments.name)
    (directory / WITNESS_STATE_DIR).mkdir(parents=True, exist_ok=True)
    descriptor = os.open(directory / WITNESS_SKEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(skey + "\n")
    (directory / WITNESS_VKEY_FILE).write_text(vkey + "\n", "utf-8")
    print(vkey)


def _witness_cosign(arguments: argparse.Namespace) -> None:
    witness = open_witness(Path(arguments.wdir))
    log_key = arguments.log_key.strip()
    with EvidenceStore.open(Path(arguments.store)) as store:
        # The witness vouches for the key its operator gave it, never the store's own claim.
        if store.log_vkey != log_key:
            raise CommandError(
                f"{arguments.store}: the store's log key is {store.log_vkey}, not the --log-key "
                "given; refusing to cosign"
            )
        store.checkpoint()
        cosigned = store.cosign(witness)
    print(cosigned, end="")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for amparo-evidence."""
    parser = argparse.ArgumentParser(
        prog="amparo-evidence",
        description="Run an Amparo evidence store and witness from the command line.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="create an evidence store; prints the log key")
    init.add_argument("dir", metavar="DIR")
    init.add_argument("--origin", required=True, metavar="NAME", help="the log's name")
    init.set_defaults(run=_init)

    ingest = commands.add_parser("ingest", help="store originals; prints id and SHA-256 each")
    ingest.add_argument("dir", metavar="DIR")
    ingest.add_argument("files", metavar="FILE", nargs="+")
    _add_actor(ingest)
    ingest.set_defaults(run=_ingest)

    checkpoint = commands.add_parser("checkpoint", help="sign a checkpoint of the custody log")
    checkpoint.add_argument("dir", metavar="DIR")
    checkpoint.set_defaults(run=_checkpoint)

    bundle = commands.add_parser("bundle", help="export items as a verifiable BagIt bundle")
    bundle.add_argument("dir", metavar="DIR")
    bundle.add_argument("ids", metavar="ID", nargs="+")
    bundle.add_argument("--out", required=True, metavar="OUT", help="bundle directory to create")
    bundle.add_argument("--zip", action="store_true", help="write OUT.zip instead of a directory")
    bundle.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="WDIR",
        help="a local witness directory that cosigns before export; repeat for each",
    )
    _add_actor(bundle)
    bundle.set_defaults(run=_bundle)

    fixity = commands.add_parser("fixity", help="re-check every original; exit 1 on damage")
    fixity.add_argument("dir", metavar="DIR")
    fixity.set_defaults(run=_fixity)

    witness = commands.add_parser("witness", help="run a witness")
    witness_commands = witness.add_subparsers(dest="witness_command", required=True)
    witness_init = witness_commands.add_parser("init", help="create a witness; prints its key")
    witness_init.add_argument("wdir", metavar="WDIR")
    witness_init.add_argument("--name", required=True, help="the witness's name")
    witness_init.set_defaults(run=_witness_init)
    cosign = witness_commands.add_parser("cosign", help="cosign a store's latest checkpoint")
    cosign.add_argument("wdir", metavar="WDIR")
    cosign.add_argument("--log-key", required=True, metavar="VKEY", help="the log's key")
    cosign.add_argument("--store", required=True, metavar="DIR", help="the evidence store")
    cosign.set_defaults(run=_witness_cosign)
    return parser


def _add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor-role", default="operator", help="recorded in custody entries")
    parser.add_argument("--actor-id", default="amparo-evidence", help="recorded likewise")


def main(argv: Sequence[str] | None = None) -> int:
    """Run amparo-evidence; return the exit status."""
    arguments = build_parser().parse_args(argv)
    try:
        status = arguments.run(arguments)
    except (CommandError, BlobStoreError, ValueError, OSError) as error:
        print(f"amparo-evidence: error: {error}", file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
