"""Network failures that a retry cannot mend fail at once with their cause; the retries that may help are shown.

A refused connection, an untrusted TLS certificate and a failed TLS handshake are answered the same way however
often they are tried, so the client reports them after one attempt, in one line with a hint. Retries after a 429
or a 5xx print a short line on stderr without -v. A base URL that ends in /api is explained before anything is sent.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.client.retry import Hopeless, hopeless_connect
from klaviyo_sync.errors import ConfigError, TransportError
from tests.client.conftest import MakeEmulator
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

# Well under the ~60 s the backoff used to spend on a refused connection, and over any loaded machine's startup.
FAST_S = 10.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "klaviyo.yaml").write_text("version: 1\n", encoding="utf-8")
    return project


def _read_once(client: KlaviyoClient) -> None:
    async def run() -> None:
        async with client:
            await client.request("get_tag_groups")

    asyncio.run(run())


class _TlsServer:
    """Accepts TLS connections with a self-signed certificate (which the client does not trust); counts them."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self.connections = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):  # the client refuses the certificate mid-handshake
                conn.close()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_TlsServer]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
    subprocess.run(
        [openssl, *request, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server = _TlsServer(cert, key)
    yield server
    server.close()


def test_a_refused_connection_fails_at_once_with_its_cause_and_a_hint(tmp_path: Path) -> None:
    port = _closed_port()
    client = KlaviyoClient(CANARY_KEY, base_url=f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        _read_once(client)
    assert time.monotonic() - started < FAST_S
    assert client.request_counts["get_tag_groups"] == 1  # not retried
    assert caught.value.ambiguous is False
    assert caught.value.message == f"cannot connect to http://127.0.0.1:{port}: connection refused: nothing is listening there"
    assert "--base-url" in caught.value.hint and "--emulator" in caught.value.hint


def test_plan_on_a_base_url_where_nothing_listens_says_so_in_one_line(tmp_path: Path) -> None:
    port = _closed_port()
    started = time.monotonic()
    result = run_cli(["plan", str(_project(tmp_path)), "--base-url", f"http://127.0.0.1:{port}"])
    assert time.monotonic() - started < FAST_S
    assert result.exit_code == 1
    error, hint = result.stderr.rstrip("\n").split("\n")
    assert error == f"Error: cannot connect to http://127.0.0.1:{port}: connection refused: nothing is listening there"
    assert hint.startswith("  hint: check --base-url / KLAVIYO_BASE_URL")
    assert "Traceback" not in result.stderr and "retry" not in result.stderr


def test_an_untrusted_tls_certificate_is_not_retried(tls_server: _TlsServer) -> None:
    client = KlaviyoClient(CANARY_KEY, base_url=f"https://127.0.0.1:{tls_server.port}")
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        _read_once(client)
    assert time.monotonic() - started < FAST_S
    assert tls_server.connections == 1  # one handshake, not nine
    assert caught.value.message.startswith(
        f"cannot connect to https://127.0.0.1:{tls_server.port}: its TLS certificate is not trusted"
    )
    assert "self-signed certificate" in caught.value.message
    assert "SSL_CERT_FILE" in caught.value.hint


def test_https_to_a_plain_http_server_is_a_tls_failure_sent_once(emulator_server: ServedEmulator) -> None:
    port = httpx.URL(emulator_server.base_url).port
    client = KlaviyoClient(CANARY_KEY, base_url=f"https://127.0.0.1:{port}")
    with pytest.raises(TransportError) as caught:
        _read_once(client)
    assert client.request_counts["get_tag_groups"] == 1
    assert caught.value.message.startswith(f"cannot connect to https://127.0.0.1:{port}: the TLS handshake failed (")
    assert "https:// address of an HTTPS server" in caught.value.hint
    assert emulator_server.emulator.request_log == []


def test_only_failures_a_retry_cannot_mend_are_hopeless() -> None:
    request = httpx.Request("GET", "https://a.klaviyo.com/api/lists")

    def caused_by(cause: BaseException | None) -> httpx.ConnectError:
        error = httpx.ConnectError("failed", request=request)
        error.__cause__ = cause
        return error

    assert hopeless_connect(caused_by(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))) == (
        Hopeless.UNKNOWN_HOST,
        "Name or service not known",
    )
    assert hopeless_connect(caused_by(socket.gaierror(socket.EAI_AGAIN, "Temporary failure"))) is None  # DNS may recover
    assert hopeless_connect(caused_by(OSError(101, "Network is unreachable"))) is None  # the network may come back
    assert hopeless_connect(caused_by(None)) is None
    assert hopeless_connect(httpx.ConnectTimeout("timed out", request=request)) is None
    assert hopeless_connect(httpx.ReadTimeout("timed out", request=request)) is None


@pytest.mark.parametrize(
    ("faults", "line"),
    [
        ("get_lists:error=503#1", "WARNING klaviyo_sync.client: get_lists: HTTP 503; retry 1 in "),
        ("get_tags:storm=1#1", "WARNING klaviyo_sync.client: get_tags throttled (429); waiting "),
    ],
    ids=["5xx", "429"],
)
def test_retries_say_so_on_stderr_without_verbose(
    tmp_path: Path, make_emulator: MakeEmulator, serve_emulator, faults: str, line: str
) -> None:
    served = serve_emulator(make_emulator(faults=faults))
    result = run_cli(["plan", str(_project(tmp_path)), "--base-url", served.base_url])
    assert result.exit_code == 0, result.stderr
    [shown] = [text for text in result.stderr.splitlines() if "retry" in text]
    assert shown.startswith(line)
    assert "Plan:" not in result.stderr  # the plan itself is on stdout


@pytest.mark.parametrize("suffix", ["/api", "/api/"])
def test_a_base_url_ending_in_api_is_explained_before_anything_is_sent(
    tmp_path: Path, emulator_server: ServedEmulator, suffix: str
) -> None:
    result = run_cli(["plan", str(_project(tmp_path)), "--base-url", emulator_server.base_url + suffix])
    assert result.exit_code == 1
    assert f"the base URL {emulator_server.base_url}{suffix} ends in /api" in result.stderr
    assert "drop the /api" in result.stderr and "/api/api/" in result.stderr
    assert emulator_server.emulator.request_log == []
    with pytest.raises(ConfigError):
        KlaviyoClient(CANARY_KEY, base_url="https://a.klaviyo.com/api")


@pytest.mark.invalid_requests  # sent to paths the spec does not have, on purpose
def test_a_missing_endpoint_points_at_the_base_url_not_at_changed_objects(
    tmp_path: Path, emulator_server: ServedEmulator
) -> None:
    result = run_cli(["plan", str(_project(tmp_path)), "--base-url", emulator_server.base_url + "/v2"])
    assert result.exit_code == 1
    assert "nothing answers at this endpoint: check that --base-url" in result.stderr
    assert "changed outside klaviyo-sync" not in result.stderr
