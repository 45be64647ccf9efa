"""Klaviyo's official Python SDK drives the emulator through Stoplight Prism, which checks every exchange.

`prism proxy --errors` validates each request the SDK sends and each answer the emulator gives against the spec
slice shipped in `spec/`; any mismatch is logged as `Violation:` (and turned into an error answer,
which makes the SDK raise). The test walks through create, page, filter, update, clone, render, tag and delete
for templates, lists, tags and tag groups, then asserts Prism logged no violation.

The SDK uses its own emulator key rather than the suite's canary: Prism is not our code and may echo request
headers in its log, which the canary guard would rightly flag.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from klaviyo_sync.api_spec import operation
from scripts.gen_operations import OPERATIONS
from scripts.gen_spec_slice import extract
from tests.support.conformance import spec_text

REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / "node_modules" / ".bin" / "prism"
SDK_KEY = "pk_sdk_through_prism_0001"
PRISM_START_TIMEOUT_S = 60

pytestmark = [pytest.mark.timeout(180)]


def missing_prerequisite() -> str | None:
    """Why the check cannot run here, or None."""
    if not PRISM.exists():
        return "Prism is not installed: run `npm ci` in the repository root"
    return None


def must_run() -> bool:
    """In CI, or wherever npm is installed (scripts/test then runs `npm ci`), a missing piece fails the check."""
    return bool(os.environ.get("CI")) or shutil.which("npm") is not None


@pytest.fixture(autouse=True)
def _prerequisites() -> None:
    reason = missing_prerequisite()
    if reason is None:
        return
    if must_run():
        pytest.fail(f"the independent-client check cannot run: {reason}", pytrace=False)
    pytest.skip(f"{reason} (npm is not installed, so this machine cannot run the check)")


def served_operations_spec(target: Path) -> Path:
    """The shipped slice cut down to the operations this check sends (templates, lists, tags, tag groups): the flow
    schemas cost Prism most of a minute to start, for operations it never sees here (tests/sdk/test_sdk_flows.py
    drives those against the conformance gate)."""
    full = json.loads(spec_text())  # a missing slice fails here, loudly, before Prism starts
    sent = tuple(op for op in OPERATIONS if not operation(op).path.startswith(("/api/flows", "/api/flow-")))
    target.write_text(json.dumps(extract(full, sent)), encoding="utf-8")
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def prism(emulator_server, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    spec = served_operations_spec(tmp_path / "klaviyo-served.json")
    port = free_port()
    log_path = tmp_path / "prism.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(PRISM), "proxy", "--errors", str(spec), emulator_server.base_url, "-h", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,  # its own process group, so node's children stop with it
        )
    try:
        deadline = time.monotonic() + PRISM_START_TIMEOUT_S
        while "Prism is listening" not in log_path.read_text():
            assert process.poll() is None, f"Prism exited early:\n{log_path.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"Prism did not start in {PRISM_START_TIMEOUT_S} s"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.to_dict()


def cursor_of(document: dict[str, Any]) -> str | None:
    next_url = document["links"].get("next")
    return parse_qs(urlparse(next_url).query)["page[cursor]"][0] if next_url else None


def test_official_sdk_through_prism_meets_no_violation(prism: tuple[str, Path], emulator_server) -> None:
    from klaviyo_api import KlaviyoAPI

    url, log_path = prism
    sdk = KlaviyoAPI(SDK_KEY, max_delay=0, max_retries=0, test_host=url)

    # Tag groups and tags.
    channel = as_dict(
        sdk.Tags.create_tag_group({"data": {"type": "tag-group", "attributes": {"name": "Channel", "exclusive": True}}})
    )
    channel_id = channel["data"]["id"]
    assert channel["data"]["attributes"] == {"name": "Channel", "exclusive": True, "default": False}
    tag_ids = []
    for name in ("Email", "SMS", "Push"):
        body = {
            "data": {
                "type": "tag",
                "attributes": {"name": name},
                "relationships": {"tag-group": {"data": {"type": "tag-group", "id": channel_id}}},
            }
        }
        tag_ids.append(as_dict(sdk.Tags.create_tag(body))["data"]["id"])
    sdk.Tags.update_tag(tag_ids[2], {"data": {"type": "tag", "id": tag_ids[2], "attributes": {"name": "Web push"}}})
    sdk.Tags.update_tag_group(channel_id, {"data": {"type": "tag-group", "id": channel_id, "attributes": {"name": "Channels"}}})
    groups = as_dict(sdk.Tags.get_tag_groups(filter="equals(exclusive,true)"))
    assert [g["attributes"]["name"] for g in groups["data"]] == ["Channels"]
    tags = as_dict(sdk.Tags.get_tags(include=["tag-group"], filter="starts-with(name,'Web')"))
    assert [t["attributes"]["name"] for t in tags["data"]] == ["Web push"]
    assert as_dict(sdk.Tags.get_tag_group_for_tag(tag_ids[0]))["data"]["id"] == channel_id

    # Lists: enough for two pages, then tags on them.
    list_ids = [
        as_dict(sdk.Lists.create_list({"data": {"type": "list", "attributes": {"name": f"List {i:02}"}}}))["data"]["id"]
        for i in range(12)
    ]
    first = as_dict(sdk.Lists.get_lists(include=["tags"], sort="name"))
    second = as_dict(sdk.Lists.get_lists(include=["tags"], sort="name", page_cursor=cursor_of(first)))
    assert len(first["data"]) == 10 and len(second["data"]) == 2
    sdk.Tags.tag_lists(tag_ids[0], {"data": [{"type": "list", "id": i} for i in list_ids[:3]]})
    sdk.Lists.update_list(list_ids[0], {"data": {"type": "list", "id": list_ids[0], "attributes": {"name": "Newsletter"}}})
    assert [t["id"] for t in as_dict(sdk.Lists.get_tag_ids_for_list(list_ids[0]))["data"]] == [tag_ids[0]]
    tagged = as_dict(sdk.Lists.get_lists(include=["tags"], filter=f"equals(id,['{list_ids[0]}'])"))
    assert tagged["data"][0]["attributes"]["name"] == "Newsletter" and tagged["included"][0]["id"] == tag_ids[0]
    sdk.Tags.remove_tag_from_lists(tag_ids[0], {"data": [{"type": "list", "id": list_ids[2]}]})
    assert len(as_dict(sdk.Tags.get_list_ids_for_tag(tag_ids[0]))["data"]) == 2

    # Templates: create, page, filter, update, clone, render.
    template_ids = []
    for i in range(11):
        body = {
            "data": {
                "type": "template",
                "attributes": {"name": f"Welcome {i:02}", "editor_type": "CODE", "html": "<p>Hi {{ first_name }}</p>"},
            }
        }
        template_ids.append(as_dict(sdk.Templates.create_template(body))["data"]["id"])
    page = as_dict(sdk.Templates.get_templates(page_size=5, sort="-created"))
    assert len(page["data"]) == 5 and cursor_of(page)
    found = as_dict(sdk.Templates.get_templates(filter="equals(name,'Welcome 03')"))
    assert [t["id"] for t in found["data"]] == [template_ids[3]]
    update = {
        "data": {
            "type": "template",
            "id": template_ids[0],
            "attributes": {"html": "<p>Bonjour {{ first_name }}</p>", "text": "Bonjour"},
        }
    }
    assert as_dict(sdk.Templates.update_template(template_ids[0], update))["data"]["attributes"]["text"] == "Bonjour"
    clone = as_dict(
        sdk.Templates.clone_template({"data": {"type": "template", "id": template_ids[0], "attributes": {"name": "Welcome FR"}}})
    )
    assert clone["data"]["attributes"]["html"] == "<p>Bonjour {{ first_name }}</p>"
    render = {"data": {"type": "template", "id": template_ids[0], "attributes": {"context": {"first_name": "Ada"}}}}
    assert as_dict(sdk.Templates.render_template(render))["data"]["attributes"]["html"] == "<p>Bonjour Ada</p>"

    # Deletes, including the cascade from a tag group.
    sdk.Templates.delete_template(clone["data"]["id"])
    sdk.Lists.delete_list(list_ids[-1])
    sdk.Tags.delete_tag(tag_ids[1])
    sdk.Tags.delete_tag_group(channel_id)
    remaining = as_dict(sdk.Tags.get_tags())
    assert remaining["data"] == []

    log = log_path.read_text()
    assert log.count("> Forwarding") >= 50  # every call above went through Prism to the emulator
    violations = [line for line in log.splitlines() if "Violation:" in line]
    assert not violations, "\n".join(violations[:20])
    assert emulator_server.emulator.request_counts(SDK_KEY)["create_template"] == 11


def test_the_check_is_never_skipped_where_it_can_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys.modules[__name__], "PRISM", tmp_path / "absent" / "prism")
    assert "npm ci" in (missing_prerequisite() or "")
    monkeypatch.setenv("CI", "true")
    assert must_run()
    monkeypatch.delenv("CI")
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on this PATH
    assert not must_run()
