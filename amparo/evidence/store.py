"""The evidence store: encrypted originals, a custody log, signed checkpoints and a catalogue.

One directory holds everything::

    store.json              origin and format version
    keys/log.skey           log signing key (mode 0600)
    keys/log.vkey           log verifier key, safe to publish
    keys/age-identity.txt   age identity that decrypts originals (mode 0600)
    keys/recipients.txt     age recipients originals are encrypted to
    keys/witnesses.vkey     verifier keys of the witnesses that have cosigned
    blobs/                  DirectoryBlobStore: age-encrypted originals
    log/                    MerkleLog of custody entries
    checkpoint/signed.txt   CheckpointSigner state: the last checkpoint the log key signed
    checkpoint/latest.txt   that checkpoint with every cosignature collected for it
    items/<id>.json         catalogue: digests, nonce, file name, custody entry indexes
    lock                    serialises catalogue updates across processes
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from amparo.evidence import age, merkle, note
from amparo.evidence.bagit import Readable
from amparo.evidence.blobstore import BlobStoreError, DirectoryBlobStore
from amparo.evidence.bundle import (
    BundleEntry,
    BundleOriginal,
    safe_filename,
    write_bundle,
    zip_bundle,
)
from amparo.evidence.checkpoint import (
    CheckpointSigner,
    exclusive_lock,
    open_checkpoint,
    write_text_atomically,
)
from amparo.evidence.custody import (
    CustodyEvent,
    DetailValue,
    commitment,
    custody_entry,
    format_time,
    new_nonce,
    parse_custody_entry,
)
from amparo.evidence.merkle import MerkleLog
from amparo.evidence.receipt import format_receipt
from amparo.evidence.witness import Witness, add_cosignatures

STORE_FORMAT = "amparo-evidence-store"
STORE_VERSION = 1
_PRIVATE_FILE_MODE = 0o600


class StoreError(ValueError):
    """The store is missing, malformed, or asked for something it does not hold."""


@dataclass(frozen=True)
class Item:
    """One original in the catalogue."""

    id: str
    nonce: str
    sha256: str
    sha512: str
    size: int
    filename: str
    media_type: str
    created: str
    custody_entries: tuple[int, ...]

    @property
    def commitment(self) -> str:
        """The value custody entries use to name this item: SHA-256(nonce || SHA-256)."""
        return commitment(bytes.fromhex(self.nonce), self.sha256)

    def to_json(self) -> str:
        """Render the catalogue record."""
        record = asdict(self)
        record["custody_entries"] = list(self.custody_entries)
        return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Item:
        """Parse a catalogue record written by to_json."""
        record = json.loads(text)
        record["custody_entries"] = tuple(record["custody_entries"])
        return cls(**record)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())


class EvidenceStore:
    """A directory of evidence: see the module docstring for its layout."""

    def __init__(self, directory: Path) -> None:
        """Open an existing store; use EvidenceStore.init to create one."""
        self.directory = Path(directory)
        try:
            settings = json.loads((self.directory / "store.json").read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise StoreError(f"{self.directory}: not an evidence store ({error})") from None
        if settings.get("format") != STORE_FORMAT or settings.get("version") != STORE_VERSION:
            raise StoreError(f"{self.directory / 'store.json'}: unknown store format")
        self.origin: str = settings["origin"]
        keys = self.directory / "keys"
        self._log_skey = (keys / "log.skey").read_text("utf-8").strip()
        self.log_vkey = (keys / "log.vkey").read_text("utf-8").strip()
        identities = age.parse_identity_file((keys / "age-identity.txt").read_text("utf-8"))
        recipients = [
            line.strip()
            for line in (keys / "recipients.txt").read_text("utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        self.blobs = DirectoryBlobStore(self.directory / "blobs", recipients, identities)
        self.log = MerkleLog.open(self.directory / "log")
        self.signer = CheckpointSigner(
            self.directory / "checkpoint" / "signed.txt", self.origin, self._log_skey
        )

    @classmethod
    def init(cls, directory: Path, origin: str) -> tuple[EvidenceStore, str]:
        """Create a new store with fresh keys; return it and the log's verifier key."""
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise StoreError(f"{directory}: already exists and is not empty")
        skey, vkey = note.generate_key(origin)
        identity, recipient = age.generate_identity()
        for sub in ("keys", "blobs", "log", "checkpoint", "items"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(directory / "keys", 0o700)
        _write_private(directory / "keys" / "log.skey", skey + "\n")
        _write_private(directory / "keys" / "age-identity.txt", age.format_identity_file(identity))
        # Atomic writes fsync the keys directory too, so the private keys above survive a crash.
        write_text_atomically(directory / "keys" / "log.vkey", vkey + "\n")
        write_text_atomically(directory / "keys" / "recipients.txt", recipient + "\n")
        write_text_atomically(directory / "keys" / "witnesses.vkey", "")
        settings = {"format": STORE_FORMAT, "version": STORE_VERSION, "origin": origin}
        write_text_atomically(directory / "store.json", json.dumps(settings, indent=2) + "\n")
        return cls(directory), vkey

    @classmethod
    def open(cls, directory: Path) -> EvidenceStore:
        """Open an existing store."""
        return cls(directory)

    def close(self) -> None:
        """Close the log's files."""
        self.log.close()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with exclusive_lock(self.directory / "lock"):
            yield

    # -- catalogue -----------------------------------------------------------------------

    def _item_path(self, item_id: str) -> Path:
        if not item_id or "/" in item_id or item_id.startswith("."):
            raise StoreError(f"{item_id!r} is not an item id")
        return self.directory / "items" / f"{item_id}.json"

    def item(self, item_id: str) -> Item:
        """Return the catalogue record of one item."""
        try:
            return Item.from_json(self._item_path(item_id).read_text("utf-8"))
        except FileNotFoundError:
            raise StoreError(f"no item {item_id!r} in {self.directory}") from None

    def items(self) -> list[Item]:
        """Return every catalogued item, ordered by id."""
        paths = sorted((self.directory / "items").glob("*.json"))
        return [Item.from_json(path.read_text("utf-8")) for path in paths]

    # -- custody -------------------------------------------------------------------------

    def ingest(
        self,
        stream: BinaryIO,
        *,
        filename: str,
        media_type: str,
        actor_role: str,
        actor_id: str,
        max_bytes: int | None = None,
    ) -> Item:
        """Encrypt and store an original, catalogue it, and log an "ingested" custody entry.

        `max_bytes` refuses larger originals (BlobTooLargeError) leaving nothing behind.
        """
        result = self.blobs.ingest(stream, max_bytes=max_bytes)
        item = Item(
            id=result.id,
            nonce=new_nonce().hex(),
            sha256=result.sha256,
            sha512=result.sha512,
            size=result.size,
            filename=filename,
            media_type=media_type,
            created=format_time(datetime.now(UTC)),
            custody_entries=(),
        )
        with self._locked():
            details: dict[str, DetailValue] = {"media_type": media_type, "size": result.size}
            return self._append(item, CustodyEvent.INGESTED, actor_role, actor_id, details)

    def record(
        self,
        item_id: str,
        event: CustodyEvent | str,
        actor_role: str,
        actor_id: str,
        details: Mapping[str, DetailValue] | None = None,
    ) -> int:
        """Log a custody event for an item; return the log index of its entry."""
        with self._locked():
            item = self._append(self.item(item_id), event, actor_role, actor_id, details)
            return item.custody_entries[-1]

    def _append(
        self,
        item: Item,
        event: CustodyEvent | str,
        actor_role: str,
        actor_id: str,
        details: Mapping[str, DetailValue] | None,
    ) -> Item:
        entry = custody_entry(
            event,
            at=datetime.now(UTC),
            actor_role=actor_role,
            actor_id=actor_id,
            commitment=item.commitment,
            details=details,
        )
        index = self.log.append(entry)
        updated = replace(item, custody_entries=(*item.custody_entries, index))
        write_text_atomically(self._item_path(item.id), updated.to_json())
        return updated

    # -- checkpoints and witnesses -------------------------------------------------------

    @property
    def _latest_file(self) -> Path:
        return self.directory / "checkpoint" / "latest.txt"

    def checkpoint(self) -> str:
        """Sign a checkpoint of the log as it is now; return it with any cosignatures so far.

        If the log has not grown since the last checkpoint, no new one is signed.
        """
        with self._locked():
            size = self.log.size
            last = self.signer.last_signed()
            last_size = 0 if last is None else open_checkpoint(last, self.log_vkey).size
            if last is not None and last_size == size and self._latest_file.exists():
                return self._latest_file.read_text("utf-8")
            proof = self.log.consistency_proof(last_size, size)
            signed = self.signer.sign(size, self.log.root(size), proof)
            write_text_atomically(self._latest_file, signed)
            return signed

    def latest_checkpoint(self) -> str:
        """Return the latest signed checkpoint with its cosignatures (signing one if none)."""
        if not self._latest_file.exists():
            return self.checkpoint()
        return self._latest_file.read_text("utf-8")

    def witness_vkeys(self) -> list[str]:
        """Verifier keys of the witnesses that have cosigned this store's checkpoints."""
        text = (self.directory / "keys" / "witnesses.vkey").read_text("utf-8")
        return [line.strip() for line in text.splitlines() if line.strip()]

    def cosign(self, witness: Witness) -> str:
        """Have a local witness cosign the latest checkpoint; store and return the result.

        The witness is given the consistency proof from the last checkpoint it cosigned for
        this log, as it demands.
        """
        signed = self.latest_checkpoint()
        size = open_checkpoint(signed, self.log_vkey).size
        last = witness.last_cosigned(self.origin)
        witnessed = 0 if last is None else open_checkpoint(last, self.log_vkey).size
        proof = self.log.consistency_proof(witnessed, size) if witnessed <= size else []
        line = witness.cosign(signed, self.log_vkey, proof)
        return self.add_cosignature(line, witness.vkey)

    def add_cosignature(self, line: str, witness_vkey: str) -> str:
        """Attach a witness's cosignature line to the latest checkpoint and remember its key."""
        with self._locked():
            signed = self.latest_checkpoint()
            cosigned = add_cosignatures(signed, line)
            write_text_atomically(self._latest_file, cosigned)
            keys = self.witness_vkeys()
            if witness_vkey.strip() not in keys:
                keys.append(witness_vkey.strip())
                write_text_atomically(
                    self.directory / "keys" / "witnesses.vkey", "".join(k + "\n" for k in keys)
                )
            return cosigned

    # -- integrity and export ------------------------------------------------------------

    def fixity(self) -> list[str]:
        """Re-check every original and custody entry; return a description of each problem.

        The log is re-hashed from its entries: each entry against the leaf hash recorded for
        it, and the tree against the stored root and the last signed checkpoint.
        """
        problems = self._log_problems()
        for item in self.items():
            try:
                self.blobs.fixity(item.id)
                result = self.blobs.metadata(item.id)
            except (BlobStoreError, OSError, ValueError) as error:
                problems.append(f"{item.id}: original fails its fixity check: {error}")
                continue
            if (result.sha256, result.sha512, result.size) != (item.sha256, item.sha512, item.size):
                problems.append(f"{item.id}: original no longer matches its catalogue digests")
            for index in item.custody_entries:
                try:
                    entry = parse_custody_entry(self.log.entry(index))
                except (ValueError, IndexError) as error:
                    problems.append(f"{item.id}: custody entry {index} unreadable: {error}")
                    continue
                if entry["commitment"] != item.commitment:
                    problems.append(f"{item.id}: custody entry {index} names another item")
        return problems

    def _log_problems(self) -> list[str]:
        problems: list[str] = []
        size = self.log.size
        last_signed = self.signer.last_signed()
        signed = None if last_signed is None else open_checkpoint(last_signed, self.log_vkey)
        # Complete subtrees (height, hash), largest first: O(log n) memory at any size.
        subtrees: list[tuple[int, bytes]] = []
        for index in range(size):
            entry_hash = merkle.leaf_hash(self.log.entry(index))
            if entry_hash != self.log.leaf_hash_at(index):
                problems.append(
                    f"custody log entry {index} does not match the hash the log recorded for it"
                )
            subtrees.append((0, entry_hash))
            while len(subtrees) > 1 and subtrees[-1][0] == subtrees[-2][0]:
                (height, left), (_, right) = subtrees[-2], subtrees[-1]
                subtrees[-2:] = [(height + 1, merkle.node_hash(left, right))]
            at_signed_size = signed is not None and index + 1 == signed.size
            if at_signed_size and signed is not None and _root_of(subtrees) != signed.root_hash:
                problems.append(
                    f"custody log entries 0 to {index} do not match the signed checkpoint "
                    f"of size {signed.size}"
                )
        if _root_of(subtrees) != self.log.root(size):
            problems.append(f"custody log entries do not match the log's stored root at {size}")
        if signed is not None and signed.size > size:
            problems.append(
                f"the log holds {size} entries, fewer than the {signed.size} already signed"
            )
        return problems

    def bundle(
        self,
        item_ids: Sequence[str],
        out: Path,
        *,
        witnesses: Sequence[Witness] = (),
        actor_role: str = "system",
        actor_id: str = "amparo-evidence",
        zip: bool = False,
    ) -> Path:
        """Export items as a signed BagIt bundle at `out` (a directory, or a .zip if `zip`).

        A new checkpoint is signed and each local witness in `witnesses` cosigns it
        first; the bundle then carries every cosignature collected for that checkpoint. After
        writing, an "exported" custody entry is logged for each item.
        """
        if not item_ids:
            raise StoreError("name at least one item to export")
        items = [self.item(item_id) for item_id in dict.fromkeys(item_ids)]
        signed = self.checkpoint()
        for witness in witnesses:
            signed = self.cosign(witness)
        size = open_checkpoint(signed, self.log_vkey).size
        out = Path(out)
        bag_name = safe_filename(out.name.removesuffix(".zip"))
        created = datetime.now(UTC)
        entries = [
            BundleEntry(
                index=index,
                entry=self.log.entry(index),
                receipt=format_receipt(index, self.log.inclusion_proof(index, size), signed),
            )
            for item in items
            for index in item.custody_entries
            if index < size
        ]
        originals = [self._bundle_original(item, size) for item in items]
        arguments: dict[str, Any] = {
            "bag_name": bag_name,
            "originals": originals,
            "entries": entries,
            "checkpoint_note": signed,
            "log_vkey": self.log_vkey,
            "log_skey": self._log_skey,
            "witness_vkeys": self.witness_vkeys(),
            "source_organization": self.origin,
            "created": created,
        }
        if zip:
            zip_path = out if out.suffix == ".zip" else out.with_name(out.name + ".zip")
            scratch = Path(tempfile.mkdtemp(prefix=".bundle-", dir=zip_path.parent))
            try:
                bag_dir = write_bundle(scratch / bag_name, **arguments)
                result = zip_bundle(bag_dir, zip_path)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        else:
            result = write_bundle(out, **arguments)
        for item in items:
            self.record(item.id, CustodyEvent.EXPORTED, actor_role, actor_id, {"bundle": bag_name})
        return result

    def _bundle_original(self, item: Item, size: int) -> BundleOriginal:
        metadata = json.loads(item.to_json())
        metadata["custody_entries"] = [index for index in item.custody_entries if index < size]

        @contextmanager
        def open_plaintext() -> Iterator[Readable]:
            with self.blobs.open(item.id, item.sha256) as reader:
                yield reader

        return BundleOriginal(
            item_id=item.id,
            filename=item.filename,
            metadata=metadata,
            sha256=item.sha256,
            open_plaintext=open_plaintext,
        )


def _root_of(subtrees: Sequence[tuple[int, bytes]]) -> bytes:
    """RFC 9162 root of a tree given its complete subtrees, largest first."""
    if not subtrees:
        return merkle.EMPTY_ROOT
    root = subtrees[-1][1]
    for _height, left in reversed(subtrees[:-1]):
        root = merkle.node_hash(left, root)
    return root
