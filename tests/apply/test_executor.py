"""apply_plan against the emulator in process: creates from empty, updates, deletes, failures, interruption."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from klaviyo_sync.apply import ApplyEvent, Interruption, apply_plan, render_report_text
from klaviyo_sync.emulator import Emulator, EmulatorConfig
from klaviyo_sync.errors import ApplyError
from klaviyo_sync.live import read_live_state
from klaviyo_sync.resources import Action, Kind
from tests.apply.support import SHOP_FILES, SHOP_MANIFEST, connect, duplicates, plan_and_apply, plan_project, write_project

Factory = Callable[[EmulatorConfig | None], Emulator]


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_an_empty_account_is_built_from_the_manifests_and_a_second_plan_is_empty(
    tmp_path: Path, emulator_factory: Factory
) -> None:
    emulator = emulator_factory(None)
    root = write_project(tmp_path / "shop")

    async def scenario() -> None:
        async with connect(emulator) as client:
            events: list[ApplyEvent] = []
            plan, live = await plan_project(client, root)
            report = await apply_plan(plan, client, live=live, on_event=events.append)
            assert report.ok and report.verified and report.drift == []
            assert len(report.applied) == len(plan.changes)
            assert {e.type for e in events} == {"started", "applied", "verifying"}
            again, _ = await plan_project(client, root)
            assert again.empty, [c.address for c in again.changes]
            live_after = await read_live_state(client)
            assert duplicates(live_after) == {}
            welcome_fr = live_after.get(Kind.TEMPLATE, ("Welcome Email (FR)",))
            assert welcome_fr is not None and "Bonjour" in welcome_fr.attrs["html"]
            assert live_after.get(Kind.LIST_TAG, ("Newsletter", "Channel", "Email")) is not None
            assert report.summary_line() == "Apply complete: " + (f"{report.counts()['created']} created, 0 updated, 0 deleted.")

    run(scenario())
    # One tag_lists request per linked tag (Welcome, Email, VIP, Winback, SMS), not one per link (6).
    assert emulator.request_counts()["tag_lists"] == 5


EDITED_MANIFEST = """\
version: 1
prune: {templates: true, tag_groups: true, lists: true}
tag_groups:
  - name: Stage                       # renamed from Lifecycle
    renamed_from: [Lifecycle]
    tags: [Welcome, Winback, Loyal]   # VIP moved to Channel? no: Loyal is new, VIP deleted
  - name: Channel
    exclusive: false                  # forces a replacement of the group
    tags: [Email, SMS, Push]
lists:
  - name: Newsletter
    opt_in_process: single_opt_in     # updated
    tags: {Stage: [Welcome, Winback], Channel: [Email, Push]}
  - name: Loyal Customers
    renamed_from: [VIP Customers]
    opt_in_process: single_opt_in
    tags: {Stage: Loyal}
templates:
  - name: Welcome Email
    html: templates/welcome.html
    text: templates/welcome.txt
  - name: Welcome Email (FR)
    clone_from: Welcome Email
    html: templates/welcome-fr.html
  - name: Shipping Update
    html: templates/shipping.html
"""


def test_every_kind_of_change_on_an_existing_account_converges(tmp_path: Path, emulator_factory: Factory) -> None:
    emulator = emulator_factory(None)
    root = write_project(tmp_path / "shop")

    async def scenario() -> None:
        async with connect(emulator) as client:
            await plan_and_apply(client, root)
            before = await read_live_state(client)
            write_project(
                root,
                EDITED_MANIFEST,
                {**SHOP_FILES, "templates/welcome.html": "<p>New welcome</p>\n", "templates/shipping.html": "<p>Shipped</p>\n"},
            )
            plan, live = await plan_project(client, root)
            actions = {(c.action, c.address) for c in plan.changes}
            assert (Action.RENAME, 'tag_group["Stage"]') in actions
            assert (Action.REPLACE, 'tag_group["Channel"]') in actions
            assert (Action.RENAME, 'list["Loyal Customers"]') in actions
            assert (Action.UPDATE, 'list["Newsletter"]') in actions
            assert (Action.DELETE, 'template["Order Confirmation"]') in actions
            assert (Action.DELETE, 'list["SMS Subscribers"]') in actions
            report = await apply_plan(plan, client, live=live)
            assert report.ok and report.verified
            again, after = await plan_project(client, root)
            assert again.empty, [c.address for c in again.changes]
            assert duplicates(after) == {}
            # A rename keeps the object: same id under the new name.
            old_list = before.get(Kind.LIST, ("VIP Customers",))
            new_list = after.get(Kind.LIST, ("Loyal Customers",))
            assert old_list is not None and new_list is not None and old_list.id == new_list.id
            welcome = after.get(Kind.TEMPLATE, ("Welcome Email",))
            assert welcome is not None and welcome.attrs["html"].strip() == "<p>New welcome</p>"

    run(scenario())


FAILING_EDIT = SHOP_MANIFEST.replace("tags: [Welcome, Winback, VIP]", "tags: [Welcome, Winback, VIP, Loyal]").replace(
    "opt_in_process: double_opt_in\n    tags: {Lifecycle: [Welcome], Channel: Email}",
    "opt_in_process: single_opt_in\n    tags: {Lifecycle: [Welcome, Loyal], Channel: Email}",
)


def test_a_failure_stops_new_work_reports_everything_and_a_rerun_finishes(tmp_path: Path, emulator_factory: Factory) -> None:
    state_file = tmp_path / "account.json"
    root = write_project(tmp_path / "shop")

    async def build() -> None:
        async with connect(emulator_factory(EmulatorConfig(state_file=state_file))) as client:
            await plan_and_apply(client, root)

    run(build())
    write_project(root, FAILING_EDIT, {**SHOP_FILES, "templates/order.html": "<p>Order changed</p>\n"})
    # Every update of a list fails with a 503, also after the client's retries: a failure apply cannot get past.
    failing = emulator_factory(EmulatorConfig(state_file=state_file, faults="update_list:error=503"))

    async def fail() -> ApplyError:
        async with connect(failing) as client:
            with pytest.raises(ApplyError) as caught:
                await plan_and_apply(client, root)
            return caught.value

    error = run(fail())
    report = error.report
    assert [(f.change.action, f.change.address) for f in report.failed] == [(Action.UPDATE, 'list["Newsletter"]')]
    assert "HTTP 503" in render_report_text(report) and "update_list" in render_report_text(report)
    # The link to the updated list waits for it, so it was never started.
    assert 'list_tag["Newsletter"/"Lifecycle"/"Loyal"]' in {c.address for c in report.not_attempted}
    assert not report.verified
    done = {c.change.address for c in report.applied}
    assert 'tag["Lifecycle"/"Loyal"]' in done

    async def rerun() -> None:
        async with connect(emulator_factory(EmulatorConfig(state_file=state_file))) as client:
            remaining, live = await plan_project(client, root)
            # Plan shows exactly the work left: what failed and what was not attempted.
            left = {c.address for c in report.not_attempted} | {f.change.address for f in report.failed}
            assert {c.address for c in remaining.changes} == left
            finished = await apply_plan(remaining, client, live=live)
            assert finished.ok
            assert (await plan_project(client, root))[0].empty

    run(rerun())


def test_an_interrupt_stops_starting_work_and_reports_what_is_left(tmp_path: Path, emulator_factory: Factory) -> None:
    emulator = emulator_factory(None)
    root = write_project(tmp_path / "shop")
    interruption = Interruption()

    def on_event(event: ApplyEvent) -> None:
        if event.type == "applied":
            interruption.signal()

    async def scenario() -> None:
        async with connect(emulator) as client:
            plan, live = await plan_project(client, root)
            with pytest.raises(ApplyError, match="Apply interrupted") as caught:
                await apply_plan(plan, client, live=live, on_event=on_event, interruption=interruption, in_flight_limit=1)
            report = caught.value.report
            assert report.interrupted and report.applied and report.not_attempted and not report.failed
            assert len(report.applied) + len(report.not_attempted) == len(plan.changes)
            remaining, _ = await plan_project(client, root)
            assert {c.address for c in remaining.changes} == {c.address for c in report.not_attempted}
            await plan_and_apply(client, root)
            assert (await plan_project(client, root))[0].empty

    run(scenario())


def test_a_second_interrupt_abandons_requests_in_flight_and_says_so(tmp_path: Path, emulator_factory: Factory) -> None:
    emulator = emulator_factory(EmulatorConfig(latency_ms=300))
    root = write_project(tmp_path / "shop")
    interruption = Interruption()

    def on_event(event: ApplyEvent) -> None:
        if event.type == "started" and event.change is not None and event.change.kind is Kind.TEMPLATE:
            interruption.signal()
            interruption.signal()

    async def scenario() -> None:
        async with connect(emulator) as client:
            plan, live = await plan_project(client, root)
            with pytest.raises(ApplyError) as caught:
                await apply_plan(plan, client, live=live, on_event=on_event, interruption=interruption)
            report = caught.value.report
            assert report.abandoned, "the template creates in flight are reported as abandoned"
            assert "outcome unknown" in render_report_text(report)
            await plan_and_apply(client, root)
            again, after = await plan_project(client, root)
            assert again.empty and duplicates(after) == {}

    run(scenario())


def test_an_empty_plan_sends_nothing(tmp_path: Path, emulator_factory: Factory) -> None:
    emulator = emulator_factory(None)
    root = write_project(tmp_path / "shop")

    async def scenario() -> None:
        async with connect(emulator) as client:
            await plan_and_apply(client, root)
            plan, live = await plan_project(client, root)
            before = len(emulator.request_log)
            report = await apply_plan(plan, client, live=live)
            assert plan.empty and report.ok and report.applied == []
            assert len(emulator.request_log) == before

    run(scenario())


REFERENCING_EDIT = SHOP_MANIFEST.replace("tags: {Channel: SMS}", "tags: {Channel: SMS, Lifecycle: Welcome}") + (
    "  - name: Order Confirmation (FR)\n    clone_from: Order Confirmation\n"
)


def test_a_saved_plan_finds_the_ids_of_unchanged_objects_without_reading_the_account_again(
    tmp_path: Path, emulator_factory: Factory
) -> None:
    from klaviyo_sync.plan import plan_from_json, plan_to_json

    emulator = emulator_factory(None)
    root = write_project(tmp_path / "shop")

    async def scenario() -> None:
        async with connect(emulator) as client:
            await plan_and_apply(client, root)
            write_project(root, REFERENCING_EDIT)
            plan, live = await plan_project(client, root)
            # A link between a list and a tag that both exist, and a clone of a template that exists.
            assert {(c.action, c.address) for c in plan.changes} == {
                (Action.LINK, 'list_tag["SMS Subscribers"/"Lifecycle"/"Welcome"]'),
                (Action.CLONE, 'template["Order Confirmation (FR)"]'),
            }
            saved = plan_from_json(json.loads(json.dumps(plan_to_json(plan))))
            start = len(emulator.request_log)
            report = await apply_plan(saved, client, verify=False)
            first = emulator.request_log[start]
            assert first.method != "GET", "the ids came from the plan, not from a second read of the account"
            assert report.ok and len(report.applied) == 2
            linked = next(item for item in report.applied if item.change.action is Action.LINK)
            assert (
                linked.id == f"{live.get(Kind.LIST, ('SMS Subscribers',)).id}:{live.get(Kind.TAG, ('Lifecycle', 'Welcome')).id}"
            )
            assert (await plan_project(client, root))[0].empty

    run(scenario())
