"""Many seeded fault schedules: 5xx, 429 storms, timeouts and connections dropped after the change was committed.

Each schedule starts from the same lived-in account (objects to update, replace, delete, unlink, and some outside
the manifests' scope), then runs apply as a user would (again after a failure) until it succeeds. It must end
with an empty plan, no duplicate object, and nothing outside the managed scope lost.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.errors import ApiError, ApplyError
from klaviyo_sync.live import read_live_state
from klaviyo_sync.resources import Kind
from tests.apply.support import SHOP_MANIFEST, connect, duplicates, plan_and_apply, plan_project, write_project
from tests.support.canary import CANARY_KEY

SCHEDULES = 48
MAX_RUNS = 8  # applies a user would run before giving up; every schedule must converge well within it

LIVED_IN_ACCOUNT = {
    "tag_groups": [{"name": "Lifecycle", "exclusive": False}, {"name": "Old Group", "exclusive": False}],
    "tags": [
        {"group": "Lifecycle", "name": "Welcome"},
        {"group": "Lifecycle", "name": "Dormant"},
        {"group": "Old Group", "name": "X"},
    ],
    "lists": [
        {"name": "Newsletter", "opt_in_process": "single_opt_in", "tags": [["Lifecycle", "Dormant"]]},
        {"name": "Old List", "opt_in_process": "single_opt_in", "tags": []},
    ],
    "templates": [
        {"name": "Welcome Email", "editor_type": "CODE", "html": "<p>old welcome</p>", "text": "old"},
        # The manifests want a CODE template: a replace that creates the new one before deleting this one.
        {"name": "Order Confirmation", "editor_type": "USER_DRAGGABLE", "html": "<p>old order</p>", "text": None},
        {"name": "Retired Promo", "editor_type": "CODE", "html": "<p>retired</p>", "text": None},
        {"name": "Draft: summer", "editor_type": "CODE", "html": "<p>draft</p>", "text": None},
    ],
}
# Outside the managed scope (ignored by name): must survive every schedule untouched.
MANIFEST = SHOP_MANIFEST.replace(
    "prune: {templates: true, tag_groups: true, lists: true}\n",
    "prune: {templates: true, tag_groups: true, lists: true}\nignore: {templates: ['Draft*']}\n",
)


def fault_spec(rng: random.Random) -> str:
    """A random mix of every fault kind, at rates high enough that most runs meet several."""
    rules = [
        f"create_*:drop@{rng.uniform(0.1, 0.4):.2f}",
        f"clone_template:drop@{rng.uniform(0.1, 0.5):.2f}",
        f"*:error={rng.choice([500, 502, 503, 504])}@{rng.uniform(0.02, 0.12):.2f}",
        f"*:storm={rng.randint(1, 4)}@{rng.uniform(0.02, 0.1):.2f}",
        f"{rng.choice(['create_*', 'update_*', 'tag_lists', 'delete_*'])}:timeout=1@{rng.uniform(0.05, 0.3):.2f}",
        f"{rng.choice(['tag_lists', 'remove_tag_from_lists', 'delete_*', 'update_*'])}:drop@{rng.uniform(0.1, 0.4):.2f}",
    ]
    rng.shuffle(rules)
    return ";".join(rules[: rng.randint(3, len(rules))])


def test_every_fault_schedule_converges_without_duplicates_or_losses(
    tmp_path: Path, emulator_factory: Callable[[EmulatorConfig | None], Emulator]
) -> None:
    root = write_project(tmp_path / "shop", MANIFEST)
    injected: Counter[str] = Counter()
    runs_needed: Counter[int] = Counter()
    for seed in range(SCHEDULES):
        state_file = tmp_path / f"account-{seed}.json"
        emulator_factory(EmulatorConfig(state_file=state_file)).seed(CANARY_KEY, LIVED_IN_ACCOUNT)
        faulty = emulator_factory(EmulatorConfig(state_file=state_file, seed=seed, faults=fault_spec(random.Random(seed))))
        runs = asyncio.run(_apply_until_done(faulty, root))
        runs_needed[runs] += 1
        injected.update(kind for _, kind in faulty.faults.injected)
        asyncio.run(_check_converged(emulator_factory(EmulatorConfig(state_file=state_file)), root, seed))
    # The schedules really exercised every kind of fault, creates lost after commit above all.
    assert {"drop", "error", "storm", "timeout"} <= injected.keys(), injected
    assert injected["drop"] >= SCHEDULES, injected
    print(f"{SCHEDULES} fault schedules; faults injected {dict(injected)}; applies needed {dict(sorted(runs_needed.items()))}")


async def _apply_until_done(emulator: Emulator, root: Path) -> int:
    for run in range(1, MAX_RUNS + 1):
        async with connect(emulator) as client:
            try:
                await plan_and_apply(client, root)
                return run
            except (ApplyError, ApiError):
                continue  # as a user would: run apply again
    raise AssertionError(f"apply did not converge in {MAX_RUNS} runs")


async def _check_converged(clean: Emulator, root: Path, seed: int) -> None:
    async with connect(clean) as client:
        plan, _ = await plan_project(client, root)
        assert plan.empty, f"schedule {seed}: left {[c.address for c in plan.changes]}"
        live = await read_live_state(client)
        assert duplicates(live) == {}, f"schedule {seed}: duplicates {duplicates(live)}"
        draft = live.get(Kind.TEMPLATE, ("Draft: summer",))
        assert draft is not None and draft.attrs["html"] == "<p>draft</p>", f"schedule {seed}: an ignored template was touched"
        assert live.get(Kind.TEMPLATE, ("Retired Promo",)) is None and live.get(Kind.TAG_GROUP, ("Old Group",)) is None
