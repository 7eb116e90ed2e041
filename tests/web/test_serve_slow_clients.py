"""`amparo serve` goes on answering while clients send slowly.

nginx streams attachments and upload chunks to gunicorn unbuffered (so that no plaintext lands
in its temporary files), so a person on a poor mobile link holds a server connection for as
long as the sending takes. Gunicorn's sync workers take one request each and are killed when
a request outlasts the worker timeout; `amparo serve` uses threaded workers, whose timeout
is about the process answering, not about one request.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.faults.instance import Instance, intake_submission
from bench.faults.instance import request as http_request

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 2  # gunicorn's worker timeout for this test; the slow sending takes longer
SENDING_SECONDS = 6


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    monkeypatch.setenv("GUNICORN_CMD_ARGS", f"--timeout {TIMEOUT_SECONDS}")
    instance = Instance(tmp_path / "instance")
    instance.migrate()
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def post_slowly(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """POST `body` in ten pieces spread over SENDING_SECONDS; the answer's status line."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=SENDING_SECONDS + 30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n{head}\r\n".encode()
        )
        step = -(-len(body) // 10)
        for start in range(0, len(body), step):
            time.sleep(SENDING_SECONDS / 10)
            sock.sendall(body[start : start + step])
        answer = b""
        while b"\r\n" not in answer:
            received = sock.recv(4096)
            if not received:
                break
            answer += received
    return answer.split(b"\r\n", 1)[0]


def test_slow_senders_are_answered_and_do_not_hold_the_site(server: Instance):
    submissions = [intake_submission(server, f"slow-{n}") for n in range(3)]
    answers: dict[int, bytes] = {}
    finished: dict[int, float] = {}

    def sender(number: int) -> None:
        submission = submissions[number]
        assert submission is not None
        try:
            answers[number] = post_slowly(server.port, "/hotline/help/", *submission)
        except OSError as error:
            answers[number] = f"connection failed: {error}".encode()
        finished[number] = time.monotonic()

    # As many slow senders as `amparo serve` has processes, and one more.
    senders = [threading.Thread(target=sender, args=(n,)) for n in range(3)]
    for thread in senders:
        thread.start()
    time.sleep(1)
    status, _headers, _page = http_request(server.port, "GET", "/accounts/sign-in/")
    answered_at = time.monotonic()
    for thread in senders:
        thread.join()

    for number in range(3):  # none cut off by the worker timeout, each stored
        assert answers[number].startswith(b"HTTP/1.1 302"), answers
    assert status == 200
    assert answered_at < min(finished.values()), "a page waited for the slow senders to finish"
