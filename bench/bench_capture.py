"""Benchmark the field capture app: first-load size, time to usable on slow 3G, and a large sync.

Run with ``.venv/bin/python -m bench.bench_capture [--megabytes 200]``. In a throwaway data
directory it migrates a database and:

1. serves the app on loopback and loads the capture page in Debian's Chromium with the
   network throttled to "slow 3G" (400 ms round trip, 500 kbit/s each way) and the CPU slowed
   four times; records bytes transferred (gzip-compressed, as nginx would send them) and the
   time until the app has drawn its state;
2. syncs a video of ``--megabytes`` MB through the real sync API in 1 MiB chunks, dropping the
   "connection" half-way and resuming, and records the server process's peak memory before and
   after, and how many confirmed chunks were sent twice.

Writes bench/RESULTS_capture.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

RESULTS = Path(__file__).with_name("RESULTS_capture.md")
CHUNK = 1024 * 1024
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


def setup_django() -> None:
    os.environ["AMPARO_DATA_DIR"] = tempfile.mkdtemp(prefix="amparo-bench-capture-")
    os.environ["AMPARO_HTTPS"] = "0"
    # Served as in production: collected static files, each with its gzip copy.
    os.environ["AMPARO_STATIC_ROOT"] = tempfile.mkdtemp(prefix="amparo-bench-static-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "amparo.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class ThreadingServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


def first_load() -> dict[str, Any]:
    from django.core.wsgi import get_wsgi_application
    from playwright.sync_api import sync_playwright

    server = make_server(
        "127.0.0.1",
        0,
        get_wsgi_application(),
        server_class=ThreadingServer,
        handler_class=QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/field/capture/"
    # A served instance is warm; the first request in a process pays for Django's start-up.
    with urllib.request.urlopen(url) as warm_up:
        warm_up.read()
    bodies: dict[str, bytes] = {}
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context()
        page = context.new_page()

        def keep(response: Any) -> None:
            try:
                bodies[response.url] = response.body()
            except Exception:
                bodies.setdefault(response.url, b"")

        page.on("response", keep)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 400,
                "downloadThroughput": 500 * 1024 / 8,
                "uploadThroughput": 500 * 1024 / 8,
            },
        )
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector("#connection[data-state]", timeout=60_000)
        usable = time.perf_counter() - started
        page.wait_for_selector("html[data-offline-ready]", timeout=60_000)
        page.wait_for_timeout(500)
        browser.close()
    server.shutdown()
    # Files the service worker precaches load in the background; count only the first view's.
    page_files = {u: b for u, b in bodies.items() if not u.endswith("sw.js")}
    raw = sum(len(body) for body in page_files.values())
    compressed = sum(len(gzip.compress(body, 9)) for body in page_files.values())
    return {
        "usable_seconds": usable,
        "files": sorted(u.split("/", 3)[-1] for u in page_files),
        "raw_bytes": raw,
        "gzip_bytes": compressed,
    }


def big_sync(megabytes: int) -> dict[str, Any]:
    from django.test import Client
    from django.utils import timezone

    from amparo.accounts.models import User
    from amparo.accounts.roles import Role
    from amparo.field.models import Attachment, UploadChunk
    from amparo.field.sync import issue_device_token

    observer = User.objects.create_user(username="bench-observer", role=Role.OBSERVER)
    token = issue_device_token(observer, "bench phone")
    client = Client(headers={"Authorization": f"Bearer {token}"}, SERVER_NAME="127.0.0.1")
    report_id = str(uuid.uuid4())
    client.post(
        "/field/api/reports",
        json.dumps({"client_id": report_id, "narrative": "bench", "in_charge_role": ""}),
        content_type="application/json",
    )
    size = megabytes * CHUNK
    block = b"\x00\x00\x00\x18ftypmp42" + os.urandom(CHUNK - 12)

    def chunk_at(offset: int) -> bytes:
        # A repeating pattern keeps the client side's own memory small too.
        return block[: min(CHUNK, size - offset)]

    digest = hashlib.sha256()
    for offset in range(0, size, CHUNK):
        digest.update(chunk_at(offset))
    described = {
        "report_id": report_id,
        "file_id": str(uuid.uuid4()),
        "sha256": digest.hexdigest(),
        "size": size,
        "filename": "long.mp4",
    }
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sent = 0
    started = time.perf_counter()
    drop_at = size // 2
    for attempt in range(2):
        state = client.post(
            "/field/api/uploads", json.dumps(described), content_type="application/json"
        ).json()
        offset = state["received_bytes"]
        while not state.get("confirmed"):
            if attempt == 0 and offset >= drop_at:
                break  # the connection drops; the phone asks where to resume
            body = chunk_at(offset)
            state = client.put(
                f"/field/api/uploads/{described['file_id']}/chunks/{offset}",
                body,
                content_type="application/octet-stream",
                headers={"X-Chunk-SHA256": hashlib.sha256(body).hexdigest()},
            ).json()
            sent += 1
            offset = state["received_bytes"]
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    attachment = Attachment.objects.get()
    chunks = UploadChunk.objects.count()
    return {
        "megabytes": megabytes,
        "seconds": elapsed,
        "rss_before_kib": baseline,
        "rss_peak_kib": peak,
        "chunks_sent": sent,
        "chunks_needed": chunks,
        "confirmed": bool(state.get("confirmed")),
        "hash_matches": attachment.sha256 == described["sha256"],
        "when": timezone.now().isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args(argv)
    setup_django()
    load = first_load()
    syncing = big_sync(args.megabytes)
    growth_mib = (syncing["rss_peak_kib"] - syncing["rss_before_kib"]) / 1024
    lines = [
        "# Field capture app",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}.",
        "",
        "## First load on slow 3G (400 ms RTT, 500 kbit/s) with the CPU slowed 4×",
        "",
        f"- files: {', '.join(load['files'])}",
        f"- transferred: {load['raw_bytes'] / 1024:.1f} KB raw, "
        f"**{load['gzip_bytes'] / 1024:.1f} KB gzip-compressed** (target ≤ 60 KB)",
        f"- usable (app has drawn its state) after **{load['usable_seconds']:.2f} s** "
        "(target ≤ 3 s; served by wsgiref, HTTP/1.0 without keep-alive; static files "
        "gzip-compressed by collectstatic)",
        "",
        f"## Syncing a {args.megabytes} MB video in 1 MiB chunks, dropped half-way and resumed",
        "",
        f"- took {syncing['seconds']:.1f} s in-process (hashing, staging, age encryption, ingest)",
        f"- server peak RSS before: {syncing['rss_before_kib'] / 1024:.0f} MiB, after: "
        f"{syncing['rss_peak_kib'] / 1024:.0f} MiB (growth **{growth_mib:.0f} MiB** for a "
        f"{args.megabytes} MB file)",
        f"- chunks sent: {syncing['chunks_sent']}, chunks needed: {syncing['chunks_needed']} "
        f"(confirmed chunks re-sent: {syncing['chunks_sent'] - syncing['chunks_needed']})",
        f"- confirmed: {syncing['confirmed']}, whole-file hash matches: {syncing['hash_matches']}",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
