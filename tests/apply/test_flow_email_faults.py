"""Flow email applies under faults and stale reads: every schedule converges, no email is left sending nothing,
no scratch template survives the next apply, the replaced copies are deleted, nothing is duplicated.

The account: a live welcome series of six emails built from an old template. The project repoints three of them
at a library template it changes, two at HTML files of their own (through scratch templates), and changes the
last one's subject line and status only.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.emulator.flowstore import FlowOptions, FlowStore
from klaviyo_sync.errors import ApiError, ApplyError, KlaviyoSyncError
from klaviyo_sync.flows.repoint import delete_leftover_scratch
from klaviyo_sync.inputs import managed_flow_emails
from klaviyo_sync.live import read_live_state
from klaviyo_sync.manifest import load_project
from klaviyo_sync.resources import Kind
from klaviyo_sync.scratch import FLOW_PREFIX
from tests.apply.support import connect, duplicates, plan_and_apply, plan_project, write_project
from tests.support.canary import CANARY_KEY, find_canary
from tests.support.fixtures import ServedEmulator

CLI = [sys.executable, "-c", "from klaviyo_sync.cli import main; main()"]
SCHEDULES = 24
MAX_RUNS = 8
EMAILS = [f"Email #{n}" for n in range(1, 7)]

ACCOUNT = {
    "lists": [{"name": "Newsletter"}],
    "templates": [{"name": "Welcome (old)", "editor_type": "CODE", "html": "<p>old {% unsubscribe %}</p>", "text": None}],
    "flows": [
        {
            "name": "Welcome Series",
            "status": "live",
            "emails": [{"name": name, "template": "Welcome (old)", "subject_line": "Hi"} for name in EMAILS],
        }
    ],
}
MANIFEST = """\
version: 1
templates:
  - name: Welcome Email
    html: templates/welcome.html
    text: templates/welcome.txt
flows:
  - name: Welcome Series
    emails:
      - {name: "Email #1", template: Welcome Email, subject_line: Welcome}
      - {name: "Email #2", template: Welcome Email}
      - {name: "Email #3", template: Welcome Email, status: live}
      - {name: "Email #4", html: flows/four.html}
      - {name: "Email #5", html: flows/five.html, text: flows/five.txt}
      - {name: "Email #6", html: flows/six.html, subject_line: Last call, status: manual}
"""
FILES = {
    "templates/welcome.html": "<p>Welcome {{ first_name }} {% unsubscribe %}</p>\n",
    "templates/welcome.txt": "Welcome {{ first_name }}\n",
    "flows/four.html": "<p>Four {% unsubscribe %}</p>\n",
    "flows/five.html": "<p>Five {% unsubscribe %}</p>\n",
    "flows/five.txt": "Five\n",
    "flows/six.html": "<p>old {% unsubscribe %}</p>\n",
}


def _env() -> dict[str, str]:
    return {**os.environ, "KLAVIYO_API_KEY": CANARY_KEY, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


def fault_spec(rng: random.Random) -> str:
    rules = [
        f"update_flow_action:drop@{rng.uniform(0.1, 0.4):.2f}",
        f"update_flow_action:error={rng.choice([500, 502, 503])}@{rng.uniform(0.05, 0.3):.2f}",
        f"create_template:drop@{rng.uniform(0.05, 0.3):.2f}",
        f"delete_template:error=503@{rng.uniform(0.05, 0.3):.2f}",
        f"get_template_for_flow_message:error=502@{rng.uniform(0.05, 0.2):.2f}",
        f"*:storm={rng.randint(1, 3)}@{rng.uniform(0.02, 0.08):.2f}",
    ]
    rng.shuffle(rules)
    return ";".join(rules[: rng.randint(3, len(rules))])


def test_flow_email_applies_converge_under_faults_and_stale_reads(
    tmp_path: Path, emulator_factory: Callable[[EmulatorConfig | None], Emulator]
) -> None:
    root = write_project(tmp_path / "project", MANIFEST, FILES)
    injected: Counter[str] = Counter()
    runs_needed: Counter[int] = Counter()
    stranded: dict[int, int] = {}
    for seed in range(SCHEDULES):
        state_file = tmp_path / f"account-{seed}.json"
        emulator_factory(EmulatorConfig(state_file=state_file)).seed(CANARY_KEY, ACCOUNT)
        # Half the schedules also answer with the copy from before a repoint, for a while after it.
        stale = FlowOptions(stale_patch_answer=True, stale_template_reads_s=0.3) if seed % 2 else FlowOptions()
        faulty = emulator_factory(
            EmulatorConfig(state_file=state_file, seed=seed, faults=fault_spec(random.Random(seed)), flows=stale)
        )
        runs_needed[asyncio.run(_apply_until_done(faulty, root))] += 1
        injected.update(kind for _, kind in faulty.faults.injected)
        stranded[seed] = asyncio.run(_check_converged(emulator_factory(EmulatorConfig(state_file=state_file)), root, seed))
    assert {"drop", "error", "storm"} <= injected.keys(), injected
    print(
        f"{SCHEDULES} flow email fault schedules; faults {dict(injected)}; applies needed {dict(sorted(runs_needed.items()))}; "
        f"stranded copies left {sum(stranded.values())} (in {sum(1 for n in stranded.values() if n)} schedules)"
    )


def test_without_faults_every_replaced_copy_is_deleted(
    tmp_path: Path, emulator_factory: Callable[[EmulatorConfig | None], Emulator]
) -> None:
    root = write_project(tmp_path / "project", MANIFEST, FILES)
    emulator = emulator_factory(None)
    emulator.seed(CANARY_KEY, ACCOUNT)
    assert asyncio.run(_apply_until_done(emulator, root)) == 1
    assert asyncio.run(_check_converged(emulator, root, 0)) == 0


async def _apply_until_done(emulator: Emulator, root: Path) -> int:
    for run in range(1, MAX_RUNS + 1):
        async with connect(emulator) as client:
            try:
                # What `apply` does under the account's lock before planning: delete earlier runs' scratch templates.
                project = load_project(root)
                await delete_leftover_scratch(
                    client, await read_live_state(client, flow_emails=managed_flow_emails(project.state))
                )
                await plan_and_apply(client, root)
                return run
            except (ApplyError, ApiError, KlaviyoSyncError):
                continue
    raise AssertionError(f"apply did not converge in {MAX_RUNS} runs")


async def _check_converged(clean: Emulator, root: Path, seed: int) -> int:
    """Assert the account converged; returns how many stranded copies were left behind."""
    async with connect(clean) as client:
        plan, live = await plan_project(client, root)
        assert plan.empty, f"schedule {seed}: left {[c.address for c in plan.changes]}"
        assert duplicates(live) == {}, f"schedule {seed}: duplicates {duplicates(live)}"
        assert [t.name for t in live.scratch if t.name.startswith(FLOW_PREFIX)] == [], f"schedule {seed}: scratch left"
        assert {t.name for t in live.of_kind(Kind.TEMPLATE)} == {"Welcome Email", "Welcome (old)"}
    store = clean.store
    acct = store.account(CANARY_KEY)
    flows = FlowStore(store, acct)
    left = 0
    for message in flows.messages.values():
        bound = flows.message_definition(message)["template_id"]
        assert bound in acct.templates, f"schedule {seed}: an email sends a copy that is gone"
        # A faulted run may strand a copy whose delete failed (invisible, sending nothing); never more than its runs.
        left += len(flows.stranded_copies(message["id"]))
        assert len(flows.stranded_copies(message["id"])) <= MAX_RUNS
    return left


KILL_POINTS = 4


def test_killed_flow_email_applies_converge_and_leave_no_scratch_template(
    tmp_path: Path,
    emulator_factory: Callable[[EmulatorConfig | None], Emulator],
    serve_emulator: Callable[[Emulator], ServedEmulator],
) -> None:
    root = write_project(tmp_path / "project", MANIFEST, FILES)
    rng = random.Random(7)
    for point in range(KILL_POINTS):
        served = serve_emulator(emulator_factory(EmulatorConfig(latency_ms=60)))
        served.emulator.seed(CANARY_KEY, ACCOUNT)
        args = [*CLI, "apply", str(root), "--auto-approve", "--lock-timeout", "0", "--base-url", served.base_url]
        process = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not any(r.path.startswith("/api/flow-actions") for r in served.emulator.request_log) and process.poll() is None:
            assert time.monotonic() < deadline, "apply never started repointing"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.5))
        process.send_signal(signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
        assert not find_canary(output)
        for _ in range(2):  # a killed apply cannot release its lock: break it, as the rerun's message says
            rerun = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=120)
            locked = re.findall(r"klaviyo-sync unlock (\S+)`", rerun.stdout + rerun.stderr)
            if rerun.returncode == 0 or not locked:
                break
            subprocess.run(
                [*CLI, "unlock", locked[0], "--base-url", served.base_url], env=_env(), check=True, capture_output=True
            )
        assert rerun.returncode == 0, f"kill point {point}: {rerun.stdout}{rerun.stderr}"
        # A kill between a repoint and its clean-up strands the replaced copy (invisible, sending nothing): at most
        # one per repoint in flight, and the flow actions' burst limit lets three run at once.
        assert asyncio.run(_check_converged(served.emulator, root, point)) <= 3
