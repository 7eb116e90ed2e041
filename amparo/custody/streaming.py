"""Streaming a stored original to a download without holding it open before it is sent.

A view logs the download (custody and audit) and returns a response; the blob is opened,
decrypted and re-hashed only when the server asks for the first chunk. A response that is
built but never sent (an error in a later middleware, a client gone before the body) leaves
no file and no decryption state open. The evidence core checks the SHA-256 on the read that
reaches the end and raises IntegrityError if the bytes differ.
"""

from __future__ import annotations

from collections.abc import Iterator

from amparo.custody.evidence import evidence_store

DEFAULT_CHUNK_SIZE = 256 * 1024


def stream_original(
    item_id: str, sha256: str, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[bytes]:
    """The decrypted original of `item_id`, checked against `sha256`, opened on first read.

    The store is looked up now, so the stream reads from the store this request used; the
    blob itself is opened only when iteration starts and closed when it ends or the
    generator is closed (Django closes it with the response).
    """
    store = evidence_store()

    def chunks() -> Iterator[bytes]:
        with store.blobs.open(item_id, sha256) as reader:
            while chunk := reader.read(chunk_size):
                yield chunk

    return chunks()
