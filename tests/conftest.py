"""Suite-wide guards: the canary API key is set for every test and must never leak.

After each test we look for the key in everything the test produced: captured stdout/stderr, every
log record (at DEBUG), the failure text of any exception, and every file under the test's tmp_path.
Click output goes through the `cli` fixture (tests/support/cli.py), which checks it too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.support.canary import CANARY_KEY, files_with_canary, find_canary

pytest_plugins = ["tests.support.fixtures"]

# A gate must give the same answer on every run: property tests explore a fixed, seeded set of examples.
# `HYPOTHESIS_PROFILE=explore` searches afresh each run, for hunting bugs locally.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


class _RecordAll(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not our concern here
            text = str(record.msg)
        if find_canary(text) or find_canary(str(record.args)):
            self.leaks.append(text)


@pytest.fixture(autouse=True)
def _canary_guard(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    monkeypatch.setenv("KLAVIYO_API_KEY", CANARY_KEY)
    # Fetched now: at teardown the tmp_path fixture may already be gone.
    tmp = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    handler = _RecordAll()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        # Commands run in-process configure the package logger; the next test starts from a clean one.
        package_logger = logging.getLogger("klaviyo_sync")
        package_logger.setLevel(logging.NOTSET)
        for installed in list(package_logger.handlers):
            package_logger.removeHandler(installed)
    assert not handler.leaks, f"API key leaked into a log record: {handler.leaks[0][:200]}"
    if tmp is not None:
        leaked = files_with_canary(tmp)
        assert not leaked, f"API key written to files: {leaked}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    texts = [report.capstdout, report.capstderr, report.caplog]
    if call.excinfo is not None:
        texts.append(str(call.excinfo.value))
        texts.append(repr(call.excinfo.value))
    if any(find_canary(t) for t in texts):
        report.outcome = "failed"
        report.longrepr = f"the API key {CANARY_KEY[:6]}... leaked into the test's output or exception text"
    return report
