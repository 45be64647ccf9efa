"""The key is redacted from every byte the tool writes, whatever put it there: a base URL that holds it, a server
that echoes it in bodies, headers or `links.next`, live content that contains it. Output, logs, exception text
and files are all checked, with a key shaped like Klaviyo's and with one that is not."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from klaviyo_sync.errors import ConfigError
from klaviyo_sync.redaction import MASK, RedactingStream, register_secret, write_text
from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli

# Not shaped like a private key, so only its registration can mask it.
ODD_KEY = "xk_ODDshapedSecret0123"


class EchoingServer(ThreadingHTTPServer):
    """A hostile API on 127.0.0.1: it echoes the key it was sent everywhere it can."""

    daemon_threads = True


class EchoHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        key = self.headers.get("Authorization", "").removeprefix("Klaviyo-API-Key ")
        url = urlsplit(self.path)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if "page[cursor]" not in parse_qs(url.query):
            data = []
            if url.path == "/api/templates":
                attributes = {"name": f"Echo {key}", "editor_type": "CODE", "html": f"<p>{key}</p>", "text": None}
                attributes |= {"created": "2026-01-01T00:00:00+00:00", "updated": "2026-01-01T00:00:00+00:00"}
                data = [{"type": "template", "id": "AbC123", "attributes": attributes}]
            if url.path == "/api/accounts":  # the account's name holds the key too
                data = [{"type": "account", "id": "AbC123", "attributes": {"contact_information": {"organization_name": key}}}]
            body = {"data": data, "links": {"self": base + url.path, "next": f"{base}{url.path}?page[cursor]={key}"}}
            self._answer(200, body, key)
            return
        error = {"id": key, "status": 400, "code": "invalid", "title": f"Bad {key}", "detail": f"cursor {key} is bad"}
        self._answer(400, {"errors": [{**error, "source": {"parameter": key}}]}, key)

    def _answer(self, status: int, body: dict[str, object], key: str) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.api+json")
        self.send_header("X-Echo", key)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = EchoingServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "klaviyo.yaml").write_text("version: 1\n", encoding="utf-8")
    return project


@pytest.mark.parametrize(
    "base_url",
    [CANARY_KEY, f"ftp://{CANARY_KEY}", f"{CANARY_KEY}:8080", f"https://a.klaviyo.com:{CANARY_KEY}", f"//{CANARY_KEY}"],
)
def test_a_base_url_holding_the_key_is_refused_without_showing_it(tmp_path: Path, base_url: str) -> None:
    # Swapped variables: the key went into KLAVIYO_BASE_URL and the URL into KLAVIYO_API_KEY.
    env = {"KLAVIYO_BASE_URL": base_url, "KLAVIYO_API_KEY": "https://a.klaviyo.com"}
    result = run_cli(["plan", str(_project(tmp_path))], env=env)  # run_cli fails on the key in any output
    assert result.exit_code == 1, result.output
    assert "base URL" in result.stderr and MASK in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("key", [CANARY_KEY, ODD_KEY])
def test_a_server_echoing_the_key_in_bodies_headers_and_links_next_never_gets_it_printed(
    tmp_path: Path, echo_server: str, key: str
) -> None:
    project = _project(tmp_path)
    result = run_cli(["plan", str(project), "-vv"], env={"KLAVIYO_BASE_URL": echo_server, "KLAVIYO_API_KEY": key})
    assert result.exit_code == 1
    output = result.output + result.stderr
    assert "GET /api/templates" in output and "cursor" in output  # the echoing answers were logged and reported
    assert key not in output
    assert key not in str(result.exception)


@pytest.mark.parametrize("key", [CANARY_KEY, ODD_KEY])
def test_a_saved_plan_of_live_content_holding_the_key_does_not_hold_it(tmp_path: Path, key: str) -> None:
    register_secret(key)
    plan_file = tmp_path / "plan.json"
    write_text(plan_file, json.dumps({"name": f"Echo {key}"}), atomic=True)
    assert key not in plan_file.read_text(encoding="utf-8") and MASK in plan_file.read_text(encoding="utf-8")


def test_the_stream_layer_masks_a_key_written_in_pieces_and_keeps_the_rest_exact() -> None:
    register_secret(ODD_KEY)
    raw = io.BytesIO()
    inner = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    stream = RedactingStream(inner)
    for piece in ("a ", ODD_KEY[:5]):
        stream.write(piece)
    stream.flush()  # the start of the key is held back, not written
    assert raw.getvalue() == b"a "
    stream.write(ODD_KEY[5:] + " b\nc\ud800")
    stream.close_pending()
    assert raw.getvalue() == f"a {MASK} b\nc\\ud800".encode()  # a lone surrogate is escaped, not a crash


def test_exception_text_is_redacted_when_the_error_is_made() -> None:
    register_secret(ODD_KEY)
    error = ConfigError(f"invalid base URL {ODD_KEY!r}", hint=f"not {ODD_KEY}")
    assert ODD_KEY not in str(error) and ODD_KEY not in repr(error.args) and error.hint == f"not {MASK}"
