"""Streaming a stored original to a download without holding it open before it is sent, and
handing a freshly written bundle to the person who asked for it.

A view logs the download (custody and audit) and returns a response; the blob is opened,
decrypted and re-hashed only when the server asks for the first chunk. A response that is
built but never sent (an error in a later middleware, a client gone before the body) leaves
no file and no decryption state open. The evidence core checks the SHA-256 on the read that
reaches the end and raises IntegrityError if the bytes differ.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from amparo.audit.services import record as audit
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


def bundle_download(
    request: HttpRequest,
    name: str,
    write: Callable[[Path], Path],
    *,
    back: str,
    action: str,
    target: str,
    refusals: tuple[type[Exception], ...],
) -> HttpResponseBase:
    """Write a bundle (`write` makes `<name>.zip` in a private scratch directory) and send it.

    A refusal the writer raises (nothing to export, say) goes back to `back` as a message.
    The file is unlinked as soon as it is open, so nothing is left on disk once the response
    is sent or dropped; the export is an audit event (`action` on `target`) and, through the
    evidence store, an "exported" custody entry on every item.
    """
    scratch = Path(tempfile.mkdtemp(prefix="amparo-export-"))
    try:
        path = write(scratch / f"{name}.zip")
    except refusals as error:
        shutil.rmtree(scratch, ignore_errors=True)  # whatever the writer left, files or folders
        messages.error(request, str(error))
        return redirect(back)
    audit(request, action, target=target)
    handle = Path(path).open("rb")  # noqa: SIM115 -- FileResponse closes it
    Path(path).unlink()  # the open handle keeps the bytes until the response is sent
    scratch.rmdir()
    return FileResponse(handle, as_attachment=True, filename=f"{name}.zip")
