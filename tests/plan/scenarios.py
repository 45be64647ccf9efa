"""Plan scenarios: YAML cases of a live account seed plus manifests, and what the plan must be.

Each file under `scenarios/` holds:

    description: what the case proves
    live: {tag_groups, tags, lists, templates, flows}   # the emulator's seed format
    files: {klaviyo.yaml: ..., welcome.html: ...}  # the project, written to a temporary directory
    variables: {NAME: VALUE}                      # optional --var values
    targets: [KIND:NAME]                          # optional --target values
    force: false                                  # optional --force
    expect:
      actions: ["ACTION ADDRESS", ...]           # the plan's changes, in order
      summary: "Plan: ..."                         # the text summary line
      fields: {ADDRESS: [field, ...]}              # optional: changed fields of some changes
      reasons: {ADDRESS: "text in the reason"}     # optional
      replace_modes: {ADDRESS: delete_first}       # optional
      unmanaged: [ADDRESS, ...]                    # optional: exactly the unmanaged objects
      warnings: ["text in a warning", ...]         # optional; [] means none at all
      error: "text of the PlanError"               # instead of the above: the plan is refused

Other suites reuse this: `load_cases()` lists the cases, `materialise()` writes one into a directory and seeds
an in-process emulator, `plan_case()` plans it through the real client and live reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from klaviyo_sync.emulator import Emulator
from klaviyo_sync.inputs import managed_flow_emails
from klaviyo_sync.live import read_live_state
from klaviyo_sync.manifest import load_project
from klaviyo_sync.plan import build_plan
from klaviyo_sync.render.view import summary_line
from klaviyo_sync.resources import Plan, State
from tests.support.canary import CANARY_KEY
from tests.support.clients import emulator_client

SCENARIO_DIR = Path(__file__).parent / "scenarios"


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    live: Mapping[str, Any]
    files: Mapping[str, str]
    expect: Mapping[str, Any]
    variables: Mapping[str, str] = field(default_factory=dict)
    targets: tuple[str, ...] = ()
    force: bool = False

    @property
    def refused(self) -> bool:
        """The plan is expected to fail (there is nothing to apply)."""
        return "error" in self.expect


@dataclass
class Materialised:
    case: Case
    project_dir: Path
    emulator: Emulator
    api_key: str = CANARY_KEY


def load_cases(directory: Path = SCENARIO_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases.append(
            Case(
                name=path.stem,
                description=data["description"],
                live=data.get("live") or {},
                files=data["files"],
                expect=data["expect"],
                variables=data.get("variables") or {},
                targets=tuple(data.get("targets") or ()),
                force=bool(data.get("force", False)),
            )
        )
    return cases


def materialise(case: Case, directory: Path, emulator: Emulator | None = None) -> Materialised:
    """Write the case's project under `directory` and seed its live account into an (in-process) emulator."""
    project_dir = directory / case.name
    for relative, content in case.files.items():
        target = project_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8"))  # bytes: keep CRLF exactly as written in the case
    emulator = emulator or Emulator()
    emulator.seed(CANARY_KEY, dict(case.live))
    return Materialised(case, project_dir, emulator)


async def read_live(materialised: Materialised, desired: State | None = None) -> State:
    """The live account; with `desired`, also the flow emails it declares, as a plan reads them."""
    emails = managed_flow_emails(desired) if desired is not None else ()
    async with emulator_client(materialised.emulator, api_key=materialised.api_key) as client:
        return await read_live_state(client, flow_emails=emails)


async def plan_case(materialised: Materialised) -> Plan:
    """load_project + read_live_state (over the real client, in process) + build_plan, as `plan` does."""
    case = materialised.case
    project = load_project(materialised.project_dir, dict(case.variables))
    live = await read_live(materialised, project.state)
    return build_plan(project, live, targets=case.targets, force=case.force)


def check_plan(case: Case, plan: Plan) -> None:
    """Assert the plan is what the case expects, with messages that show the difference."""
    expect = case.expect
    steps = [f"{change.action.value} {change.address}" for change in plan.changes]
    assert steps == list(expect["actions"]), f"{case.name}: actions differ:\n  got      {steps}\n  expected {expect['actions']}"
    assert summary_line(plan.counts()) == expect["summary"]
    by_address = {change.address: change for change in plan.changes}
    for address, fields in (expect.get("fields") or {}).items():
        assert [f.field for f in by_address[address].fields] == fields, f"{case.name}: fields of {address}"
    for address, text in (expect.get("reasons") or {}).items():
        assert text in by_address[address].reason, f"{case.name}: reason of {address}: {by_address[address].reason!r}"
    for address, mode in (expect.get("replace_modes") or {}).items():
        assert by_address[address].replace_mode is not None and by_address[address].replace_mode.value == mode
    if "unmanaged" in expect:
        assert [r.address for r in plan.unmanaged] == expect["unmanaged"], f"{case.name}: unmanaged objects"
    # Template lint notes are the lint tests' subject (tests/plan/test_lint_in_plan.py), not the scenarios'.
    warnings = [warning for warning in plan.warnings if not warning.startswith("lint: ")]
    if expect.get("warnings") == []:
        assert warnings == [], f"{case.name}: unexpected warnings {warnings}"
    for text in expect.get("warnings") or ():
        assert any(text in warning for warning in plan.warnings), f"{case.name}: no warning with {text!r}: {plan.warnings}"
