"""The connection as users set it up: KLAVIYO_BASE_URL, the key from the environment or a file, -v request logs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.canary import CANARY_KEY
from tests.support.cli import run_cli
from tests.support.fixtures import ServedEmulator

REQUEST_LINE = re.compile(r"^INFO klaviyo_sync\.client: (GET|POST|PATCH|DELETE) /api/\S* \d{3} \(\d+ ms\)$")


def test_verbose_logs_each_request_with_the_key_redacted(tmp_path: Path, emulator_server: ServedEmulator) -> None:
    emulator_server.emulator.seed(CANARY_KEY, {"templates": [{"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi</p>"}]})
    out = tmp_path / "export"
    result = run_cli(["export", "--out", str(out), "-v"], env={"KLAVIYO_BASE_URL": emulator_server.base_url})
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("INFO klaviyo_sync.client:")]
    assert len(lines) == len(emulator_server.emulator.request_log) >= 4  # one line per request, every kind read
    assert all(REQUEST_LINE.match(line) for line in lines), lines
    assert "Klaviyo-API-Key" not in result.stderr  # run_cli has already checked the key itself

    quiet = run_cli(["export", "--out", str(tmp_path / "quiet")], env={"KLAVIYO_BASE_URL": emulator_server.base_url})
    assert quiet.exit_code == 0 and "klaviyo_sync.client" not in quiet.stderr


@pytest.mark.parametrize("base_url", ["http://10.0.0.5:8080", "http://a.klaviyo.com"])
def test_plain_http_to_another_host_is_refused_before_anything_is_sent(tmp_path: Path, base_url: str) -> None:
    result = run_cli(["export", "--out", str(tmp_path / "x"), "--base-url", base_url])
    assert result.exit_code != 0
    assert "refusing to send the API key over plain http" in result.stderr and "https://" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_the_key_can_come_from_a_file_and_never_from_the_command_line(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, emulator_server: ServedEmulator
) -> None:
    # The key file lives outside tmp_path, whose files the suite checks for the key.
    key_file = tmp_path_factory.mktemp("secrets") / "klaviyo.key"
    key_file.write_text(CANARY_KEY + "\n", encoding="utf-8")
    env = {"KLAVIYO_API_KEY": "", "KLAVIYO_BASE_URL": emulator_server.base_url}
    result = run_cli(["export", "--out", str(tmp_path / "a"), "--api-key-file", str(key_file)], env=env)
    assert result.exit_code == 0, result.stderr
    assert emulator_server.emulator.request_counts(CANARY_KEY)  # the file's key reached the account

    missing = run_cli(["export", "--out", str(tmp_path / "b")], env=env)
    assert missing.exit_code != 0 and "KLAVIYO_API_KEY" in missing.stderr and "--api-key-file" in missing.stderr

    on_argv = run_cli(["export", "--out", str(tmp_path / "c"), "--api-key", "pk_visible_in_ps_0000"], env=env)
    assert on_argv.exit_code == 1 and "No such option '--api-key'" in on_argv.stderr
