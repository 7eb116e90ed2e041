"""The shipped nginx configuration, run by Debian's nginx in front of a real `amparo serve`.

deploy/nginx/amparo.conf makes promises that only nginx can keep, so they are checked against
nginx itself rather than by reading the file:

- `nginx -t` accepts it;
- the public help form is limited at the edge (10 a second, bursts of 20): beyond that nginx
  answers 429 itself, with `Retry-After` and a plain-text message in English, Spanish and
  Arabic, and the refused requests never reach gunicorn; staff pages are not limited, even
  while the form is;
- originals are downloaded only from the media host name, under a sandboxing
  Content-Security-Policy, by GET only; the main host name redirects there;
- the client's own X-Forwarded-For and X-Real-IP never reach Amparo, which reads the address
  nginx saw from X-Real-IP;
- no address of anyone is written to nginx's logs by the public intake or by the port-80
  redirects: no access log, and no error-log line per refused request, nor per help form
  sent while Amparo cannot be reached; the family is then told so in three languages.

The file is rendered for a temporary directory by exact string replacements, each of which
must happen once for every place it is expected: if the configuration changes, this test
fails loudly instead of quietly testing something else. The wrapping nginx.conf keeps the
http-level defaults of Debian's own (default_type application/octet-stream, an access log,
the error log at level `error`), since the shipped file is included into that one.

Between nginx and Amparo sits a relay that keeps a copy of everything nginx sends upstream:
it tells what reached Amparo, and with which headers.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.faults.instance import REPOSITORY, Instance, free_port

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
if NGINX is None:
    pytest.skip(
        "nginx is not installed (scripts/install-system-deps.sh installs it)",
        allow_module_level=True,
    )

CONFIG = REPOSITORY / "deploy" / "nginx" / "amparo.conf"
PROXY_CONFIG = REPOSITORY / "deploy" / "nginx" / "amparo-proxy.conf"
MAIN_HOST = "amparo.example.org"
MEDIA_HOST = "media.amparo.example.org"
DOWNLOAD = "/field/attachments/1/download/"
CSP = "default-src 'none'; sandbox"
UNAVAILABLE_LINES = (
    "The help form cannot be reached right now. Please try again in a few minutes, or call "
    "the hotline.",
    "El formulario de ayuda no está disponible en este momento. Intente de nuevo en unos "
    "minutos o llame a la línea de ayuda.",
    "نموذج طلب المساعدة غير متاح حاليًا. يُرجى المحاولة مرة أخرى بعد بضع دقائق أو الاتصال "
    "بالخط الساخن.",
)
BUSY_LINES = (
    "Too many requests at once. Please try again in a few seconds, or call the hotline.",
    "Demasiadas solicitudes a la vez. Intente de nuevo en unos segundos o llame a la línea "
    "de ayuda.",
    "طلبات كثيرة في وقت واحد. يُرجى المحاولة مرة أخرى بعد بضع ثوانٍ أو الاتصال بالخط الساخن.",
)
# The help form's edge limit in amparo.conf: 10 a second, and 20 more at once.
RATE_PER_SECOND = 10
BURST = 20
FLOOD_REQUESTS = 60
STAFF_REQUESTS = 20


@dataclass
class ProxiedInstance(Instance):
    """An Amparo instance that answers to the public host names, as behind nginx."""

    @property
    def environment(self) -> dict[str, str]:
        environment = super().environment
        # Instance's own ALLOWED_HOSTS=127.0.0.1 would answer 400 to the Host nginx passes on.
        # AMPARO_HTTPS stays "0": Instance.start() waits for an answer over plain HTTP on
        # loopback, which AMPARO_HTTPS=1 would redirect; the X-Forwarded-Proto that HTTPS=1
        # relies on is checked on the relay instead.
        environment["ALLOWED_HOSTS"] = f"{MAIN_HOST},{MEDIA_HOST},127.0.0.1"
        environment["AMPARO_CLIENT_ADDRESS_HEADER"] = "HTTP_X_REAL_IP"  # as docs/deploy.md
        return environment


class RecordingRelay:
    """A TCP relay from nginx to Amparo that keeps a copy of every byte nginx sends."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._lock = threading.Lock()
        self._sent = bytearray()
        self._sockets: list[socket.socket] = []
        # Set: Amparo is "down": whatever nginx sends is dropped and the connection closed.
        self.refusing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _address = self.listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return
            with self._lock:
                self._sockets += [downstream, upstream]
            for args in ((downstream, upstream, True), (upstream, downstream, False)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        try:
            while data := source.recv(65536):
                if record and self.refusing.is_set():
                    source.close()
                    sink.close()
                    return
                if record:  # kept before it is passed on: recorded before anyone is answered
                    with self._lock:
                        self._sent += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    @property
    def sent(self) -> bytes:
        with self._lock:
            return bytes(self._sent)

    def request_head(self, marker: str) -> str | None:
        """The head of the request whose request line holds `marker`, as Amparo received it."""
        sent = self.sent
        at = sent.find(marker.encode())
        if at < 0:
            return None
        start = sent.rfind(b"\n", 0, at) + 1
        return sent[start : sent.find(b"\r\n\r\n", at)].decode("latin-1")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()


@dataclass
class Stack:
    """nginx on loopback in front of the relay in front of Amparo."""

    prefix: Path
    main_config: Path
    https_port: int
    http_port: int
    tls: ssl.SSLContext
    relay: RecordingRelay

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class LoopbackHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to nginx on 127.0.0.1 under a public host name: SNI, certificate check and Host
    are all that name, as a browser would send them."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=30, context=context)
        self.tls = context

    def connect(self) -> None:
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def fetch(
    stack: Stack,
    host: str,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    connection = LoopbackHTTPSConnection(host, stack.https_port, stack.tls)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def replaced(text: str, old: str, new: str, count: int) -> str:
    found = text.count(old)
    assert found == count, f"amparo.conf: expected {old!r} {count} times, found {found}"
    return text.replace(old, new)


def render(directory: Path, https_port: int, http_port: int, upstream_port: int) -> str:
    """amparo.conf as it runs in `directory`, on loopback ports, in front of `upstream_port`."""
    text = CONFIG.read_text()
    certificate, key = directory / "fullchain.pem", directory / "privkey.pem"
    (directory / "static").mkdir()
    (directory / "letsencrypt").mkdir()
    for old, new, count in (
        ("listen 80;", f"listen 127.0.0.1:{http_port};", 1),
        ("    listen [::]:80;\n", "", 1),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;", 2),
        ("    listen [::]:443 ssl http2;\n", "", 2),
        ("/etc/letsencrypt/live/amparo.example.org/fullchain.pem", str(certificate), 2),
        ("/etc/letsencrypt/live/amparo.example.org/privkey.pem", str(key), 2),
        ("include /etc/nginx/amparo-proxy.conf;", f"include {PROXY_CONFIG};", 5),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};", 1),
        ("alias /srv/amparo/static/;", f"alias {directory / 'static'}/;", 1),
        ("root /var/www/letsencrypt;", f"root {directory / 'letsencrypt'};", 1),
        (
            "error_log /var/log/nginx/error.log crit;",
            f"error_log {directory / 'error.log'} crit;",
            1,
        ),
    ):
        text = replaced(text, old, new, count)
    return text


def main_config(directory: Path, rendered: Path) -> str:
    # Run as root (as in CI), nginx's workers would become `nobody`, who cannot enter pytest's
    # temporary directories (mode 0700) for the request-body and proxy temp files; this
    # throwaway nginx listens on loopback only, so its workers stay root. Not root: the
    # directive would be ignored with a warning, so it is left out.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"    {kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As Debian's /etc/nginx/nginx.conf, which includes the shipped file from sites-enabled.
    return (
        f"{user}worker_processes 1;\n"
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'};\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {directory / 'access.log'};\n"
        f"{temp_paths}"
        f"    include {rendered};\n"
        "}\n"
    )


def make_certificate(directory: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={MAIN_HOST}",
            "-addext",
            f"subjectAltName=DNS:{MAIN_HOST},DNS:{MEDIA_HOST}",
            "-keyout",
            str(directory / "privkey.pem"),
            "-out",
            str(directory / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def nginx_test(stack: Stack) -> subprocess.CompletedProcess[str]:
    assert NGINX is not None
    return subprocess.run(
        [NGINX, "-t", "-p", str(stack.prefix), "-c", str(stack.main_config)],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def amparo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxiedInstance]:
    instance = ProxiedInstance(tmp_path_factory.mktemp("amparo") / "instance")
    instance.migrate()
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def configured(
    tmp_path_factory: pytest.TempPathFactory, amparo: ProxiedInstance
) -> Iterator[Stack]:
    """The rendered configuration, its certificate and the relay; nginx not yet started."""
    prefix = tmp_path_factory.mktemp("nginx")
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / kind).mkdir()
    make_certificate(prefix)
    relay = RecordingRelay(amparo.port)
    https_port, http_port = free_port(), free_port()
    rendered = prefix / "amparo.conf"
    rendered.write_text(render(prefix, https_port, http_port, relay.port))
    config = prefix / "nginx.conf"
    config.write_text(main_config(prefix, rendered))
    stack = Stack(
        prefix=prefix,
        main_config=config,
        https_port=https_port,
        http_port=http_port,
        tls=ssl.create_default_context(cafile=prefix / "fullchain.pem"),
        relay=relay,
    )
    try:
        yield stack
    finally:
        relay.close()


@pytest.fixture(scope="module")
def stack(configured: Stack) -> Iterator[Stack]:
    """nginx running the rendered configuration."""
    assert NGINX is not None
    stack = configured
    prefix = stack.prefix
    output = (prefix / "nginx.out").open("wb")
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(stack.main_config), "-g", "daemon off;"],
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output.close()
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    "nginx exited: "
                    + (prefix / "nginx.out").read_text()
                    + (stack.error_log.read_text() if stack.error_log.exists() else "")
                )
            if accepts_connections(stack.https_port):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not accept connections within 15 s")
            time.sleep(0.05)
        yield stack
    finally:
        # SIGTERM: nginx's fast shutdown; its workers are in the session started above.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Flood:
    help_answers: list[Answer]
    staff_answers: list[Answer]
    seconds: float


@pytest.fixture(scope="module")
def flood(stack: Stack) -> Flood:
    """The help form asked for FLOOD_REQUESTS times at once, with staff pages asked for among
    them. GETs: limit_req counts every method, and a GET gets 200 from Amparo when let through."""
    paths = []
    for number in range(FLOOD_REQUESTS):
        paths.append(f"/hotline/help/?flood={number}")
        if number % 3 == 2:
            paths.append(f"/accounts/sign-in/?flood={number}")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda path: (path, fetch(stack, MAIN_HOST, path)), paths))
    seconds = time.monotonic() - started
    return Flood(
        help_answers=[answer for path, answer in answers if path.startswith("/hotline/")],
        staff_answers=[answer for path, answer in answers if path.startswith("/accounts/")],
        seconds=seconds,
    )


def test_nginx_accepts_the_configuration(configured: Stack):
    result = nginx_test(configured)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_help_form_is_limited_at_the_edge(stack: Stack, flood: Flood):
    statuses = [answer.status for answer in flood.help_answers]
    let_through = statuses.count(200)
    refused = statuses.count(429)
    assert let_through + refused == FLOOD_REQUESTS, statuses
    assert refused > 0, "nginx let the whole flood through to gunicorn"
    # The burst reaches Amparo at once; past it, about RATE_PER_SECOND a second.
    assert let_through >= BURST + 1, statuses
    assert let_through <= BURST + 1 + RATE_PER_SECOND * flood.seconds + 2, (flood.seconds, statuses)
    # Only what nginx let through reached gunicorn.
    forwarded = re.findall(rb"GET /hotline/help/\?flood=\d+ HTTP/1\.1\r\n", stack.relay.sent)
    assert len(forwarded) == let_through


def test_the_refusal_says_when_to_come_back_in_three_languages(flood: Flood):
    refusals = [answer for answer in flood.help_answers if answer.status == 429]
    assert refusals
    for answer in refusals:
        assert answer.header("Retry-After") == ["10"]
        assert answer.header("Content-Type") == ["text/plain; charset=utf-8"]
        text = answer.body.decode("utf-8")
        for line in BUSY_LINES:
            assert line in text


def test_staff_pages_are_not_limited_while_the_help_form_is(flood: Flood):
    assert any(answer.status == 429 for answer in flood.help_answers)
    assert len(flood.staff_answers) == STAFF_REQUESTS
    assert [answer.status for answer in flood.staff_answers] == [200] * STAFF_REQUESTS
    assert all(b"csrfmiddlewaretoken" in answer.body for answer in flood.staff_answers)


def test_media_host_serves_downloads_under_a_sandbox(stack: Stack):
    marker = f"probe={uuid.uuid4().hex}"
    answer = fetch(stack, MEDIA_HOST, f"{DOWNLOAD}?{marker}")
    head = stack.relay.request_head(marker)
    assert head is not None, "the download did not reach Amparo"
    assert f"\r\nHost: {MEDIA_HOST}\r\n" in head
    # Amparo answers (a redirect to sign-in: nobody is signed in), under nginx's sandbox.
    # Amparo's own policy comes along; a browser enforces every policy it is sent.
    assert answer.status == 302
    assert CSP in answer.header("Content-Security-Policy")
    assert "nosniff" in answer.header("X-Content-Type-Options")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_media_host_refuses_everything_but_get(stack: Stack, method: str):
    marker = f"probe={uuid.uuid4().hex}"
    answer = fetch(stack, MEDIA_HOST, f"{DOWNLOAD}?{marker}", method=method, body=b"x")
    assert answer.status == 403
    assert stack.relay.request_head(marker) is None


def test_media_host_serves_nothing_else(stack: Stack):
    marker = f"probe={uuid.uuid4().hex}"
    answer = fetch(stack, MEDIA_HOST, f"/accounts/sign-in/?{marker}")
    assert answer.status == 404
    assert stack.relay.request_head(marker) is None


@pytest.mark.parametrize("kind", ["download", "working-copy"])
def test_main_host_sends_downloads_to_the_media_host(stack: Stack, kind: str):
    path = f"/field/attachments/1/{kind}/?probe={uuid.uuid4().hex}"
    answer = fetch(stack, MAIN_HOST, path)
    assert answer.status == 301
    assert answer.header("Location") == [f"https://{MEDIA_HOST}{path}"]
    assert stack.relay.request_head(path) is None


def test_amparo_sees_the_address_nginx_saw_and_not_the_clients_claims(stack: Stack):
    marker = f"probe={uuid.uuid4().hex}"
    answer = fetch(
        stack,
        MAIN_HOST,
        f"/accounts/sign-in/?{marker}",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.8"},
    )
    assert answer.status == 200
    head = stack.relay.request_head(marker)
    assert head is not None
    assert "x-forwarded-for" not in head.lower()
    assert "203.0.113." not in head
    assert "\r\nX-Real-IP: 127.0.0.1\r\n" in head
    assert "\r\nX-Forwarded-Proto: https\r\n" in head
    assert f"\r\nHost: {MAIN_HOST}\r\n" in head


def test_port_80_only_redirects_to_https(stack: Stack):
    connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=30)
    try:
        connection.request("GET", "/hotline/help/", headers={"Host": MAIN_HOST})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{MAIN_HOST}/hotline/help/"


def test_nothing_is_logged_about_who_asked(stack: Stack, flood: Flood):
    """No access log in any server block, and no error-log line per refused request: the
    public intake keeps no addresses, not even in nginx's logs."""
    assert any(answer.status == 429 for answer in flood.help_answers)
    connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=30)
    try:
        connection.request("GET", "/hotline/help/", headers={"Host": MAIN_HOST})
        connection.getresponse().read()
    finally:
        connection.close()
    fetch(stack, MEDIA_HOST, DOWNLOAD)
    fetch(stack, MAIN_HOST, "/accounts/sign-in/")
    logged = stack.access_log.read_text() if stack.access_log.exists() else ""
    assert logged == ""
    errors = stack.error_log.read_text() if stack.error_log.exists() else ""
    assert "/hotline/help/" not in errors


@dataclass
class Outage:
    help_answer: Answer
    staff_answer: Answer
    staff_marker: str


@pytest.fixture(scope="module")
def outage(stack: Stack) -> Outage:
    """Amparo unreachable behind nginx for a moment: the help form posted and a staff page
    asked for, each answered by nginx."""
    marker = f"outage={uuid.uuid4().hex}"
    stack.relay.refusing.set()
    try:
        help_answer = fetch(
            stack,
            MAIN_HOST,
            "/hotline/help/",
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=b"legal_name=x",
        )
        staff_answer = fetch(stack, MAIN_HOST, f"/accounts/sign-in/?{marker}")
    finally:
        stack.relay.refusing.clear()
    return Outage(help_answer, staff_answer, marker)


def test_when_amparo_cannot_be_reached_the_family_reads_why(outage: Outage):
    answer = outage.help_answer
    assert answer.status == 503
    assert answer.header("Retry-After") == ["60"]
    assert answer.header("Content-Type") == ["text/plain; charset=utf-8"]
    text = answer.body.decode("utf-8")
    for line in UNAVAILABLE_LINES:
        assert line in text
    # Only the help form answers so: a staff page gets nginx's own error.
    assert outage.staff_answer.status == 502


def test_an_outage_logs_no_address_for_the_help_form(stack: Stack, outage: Outage):
    errors = stack.error_log.read_text() if stack.error_log.exists() else ""
    # The outage is in the error log, from the staff page ...
    assert outage.staff_marker in errors
    # ... but nothing about whoever was sending the help form at the time.
    assert "/hotline/help/" not in errors
