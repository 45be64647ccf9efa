"""The benchmark's quick path end to end, and the bounds it measures against.

Timings are never asserted here (they belong to the benchmark's output); request counts are exact, so they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import bounds
from bench import preview as bench_preview
from bench import reach as bounds_reach
from bench.accounts import SIZES, generate
from bench.bounds import IDENTIFY
from bench.run import main, repeated

pytestmark = pytest.mark.timeout(240)

# Windows and latency 100x shorter: the quick run takes seconds.
FAST = ["--quick", "--plan-scale", "0.01", "--apply-scale", "0.01", "--latency-ms", "20"]
EMPTY_READ = {"get_templates": 1, "get_lists": 1, "get_tags": 1, "get_tag_groups": 1, "get_all_universal_content": 1}


def small_account_reads() -> dict[str, int]:
    size = SIZES["small"]
    # 20 templates and 5 lists at 10 a page, 10 tags at 50, 2 groups + the default one at 25.
    assert (size.templates, size.lists, size.tags, size.tag_groups) == (20, 5, 10, 2)
    return {"get_templates": 2, "get_lists": 1, "get_tags": 1, "get_tag_groups": 1, "get_all_universal_content": 1}


def test_quick_run_reports_exact_request_counts_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAST, "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "sdk/ours" in table and "small" in table and "klaviyo-sync --help" in table

    latest = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert [p.name for p in tmp_path.glob("bench-*.json")], "the timestamped result file is missing"
    runs = {(run["scenario"], run["operation"]): run for run in latest["runs"] if run["size"] == "small"}
    assert set(runs) == {(s, o) for s in ("create", "update", "noop") for o in ("plan", "apply")}
    spec = generate(SIZES["small"])
    linked_tags = {key for _, tags in spec.lists for key in tags}
    links = sum(len(tags) for _, tags in spec.lists)
    reads = small_account_reads()

    # Plans read exactly the lower bound, which starts with the account's identity; the SDK script reads no
    # account, and each list's tags, one request per list.
    assert runs["create", "plan"]["ours"]["requests"] == {**IDENTIFY, **EMPTY_READ}
    for scenario in ("update", "noop"):
        plan = runs[scenario, "plan"]
        assert plan["ours"]["requests"] == {**IDENTIFY, **reads}
        assert plan["bound"]["requests"] == sum(reads.values()) + 1
        assert plan["sdk"]["requests"] == {**reads, "get_tags_for_list": 5}

    # Creating everything: one request per object, one per tag for its links, then one read to verify.
    create = runs["create", "apply"]
    writes = {
        "create_tag_group": 2,
        "create_tag": 10,
        "create_list": 5,
        "tag_lists": len(linked_tags),
        "create_template": 20,
        "create_universal_content": 5,
    }
    assert create["ours"]["requests"] == {**writes, **reads}
    assert create["ours"]["throttled"] == {}
    assert create["bound"]["requests"] == sum(writes.values()) + sum(reads.values())
    sdk = create["sdk"]
    sdk_sent = {op: count - sdk["throttled"].get(op, 0) for op, count in sdk["requests"].items()}
    assert sdk_sent == {**writes, "tag_lists": links}
    assert sdk["error"] is None

    # 10 % of the templates and blocks changed: two and one updates (and the verifying read); then nothing is left.
    assert runs["update", "apply"]["ours"]["requests"] == {"update_template": 2, "update_universal_content": 1, **reads}
    assert runs["update", "apply"]["sdk"]["requests"] == {"update_template": 2, "update_universal_content": 1}
    assert runs["noop", "plan"]["ours"]["changes"] == {}
    assert runs["noop", "apply"]["ours"]["requests"] == {}
    assert runs["noop", "apply"]["sdk"]["requests"] == {}

    # Flow emails (5 flows of 2 emails following 4 templates): the walk, one read per copy; each repoint is its
    # PATCH, the verifying read of its message's template and the delete of the copy it replaced.
    flow_runs = {(run["scenario"], run["operation"]): run for run in latest["runs"] if run["size"] == "flows-s"}
    assert set(flow_runs) == {("repoint", "plan"), ("repoint", "apply"), ("noop", "plan")}
    flow_reads = {**EMPTY_READ, "get_flows": 1, "get_template": 10}
    assert flow_runs["repoint", "plan"]["ours"]["requests"] == {**IDENTIFY, **flow_reads}
    assert flow_runs["repoint", "plan"]["bound"]["requests"] == sum(flow_reads.values()) + 1
    assert flow_runs["repoint", "plan"]["ours"]["changes"] == {"update template": 4, "update flow_email": 10}
    repoint = flow_runs["repoint", "apply"]
    writes = {"update_template": 4, "update_flow_action": 10, "get_template_for_flow_message": 10, "delete_template": 10}
    verify = dict(flow_reads)
    assert repoint["ours"]["requests"] == {op: writes.get(op, 0) + verify.get(op, 0) for op in writes.keys() | verify.keys()}
    assert repoint["ours"]["throttled"] == {}
    assert repoint["bound"]["requests"] == sum(writes.values()) + sum(verify.values())
    assert repoint["sdk"]["requests"] == writes and repoint["sdk"]["error"] is None
    assert flow_runs["noop", "plan"]["ours"]["changes"] == {}

    # Blast radius (3 lists, a group of 2 tags, all deleted): the account's read, then per list its profile count and
    # the flows it triggers, per tag the three reads of what carries it; the SDK script reads the same facts.
    [prune] = [run for run in latest["runs"] if run["size"] == "reach-s"]
    assert prune["ours"]["changes"] == {"delete list": 3, "delete tag_group": 1}
    reach = {"get_list": 3, "get_flows_triggered_by_list": 3, **dict.fromkeys(bounds_reach.TAG_READS, 2)}
    assert prune["ours"]["requests"] == {**IDENTIFY, **EMPTY_READ, **reach} and prune["ours"]["throttled"] == {}
    assert prune["bound"]["requests"] == sum(IDENTIFY.values()) + sum(EMPTY_READ.values()) + sum(reach.values())
    sdk_reach = {**reach, "get_ids_for_flows_triggered_by_list": 3, "get_tags_for_list": 3}
    del sdk_reach["get_flows_triggered_by_list"]
    sdk_sent = {op: n - prune["sdk"]["throttled"].get(op, 0) for op, n in prune["sdk"]["requests"].items()}
    assert sdk_sent == {**EMPTY_READ, **sdk_reach} and prune["sdk"]["error"] is None

    # Preview (4 declared templates, 2 changed): offline, every template rendered locally, no request; with Klaviyo,
    # the account's read, then for each changed template before and after a scratch template created, rendered and
    # deleted; the SDK script reads the templates, then does the same three requests per render.
    previews = {run["scenario"]: run for run in latest["runs"] if run["size"] == "preview-s"}
    assert set(previews) == {"offline", "klaviyo"}
    offline = previews["offline"]
    assert offline["ours"]["requests"] == {} and offline["ours"]["pages"] == 4
    assert offline["bound"] == {"requests": 0, "wall_s": None, "throttled": 0} and offline["sdk"] is None
    klaviyo = previews["klaviyo"]
    renders = dict.fromkeys(bench_preview.RENDER, 4)
    assert klaviyo["ours"]["requests"] == {**IDENTIFY, **EMPTY_READ, **renders} and klaviyo["ours"]["throttled"] == {}
    assert klaviyo["ours"]["pages"] == 4
    assert klaviyo["bound"]["requests"] == sum(IDENTIFY.values()) + sum(EMPTY_READ.values()) + sum(renders.values())
    sdk_sent = {op: n - klaviyo["sdk"]["throttled"].get(op, 0) for op, n in klaviyo["sdk"]["requests"].items()}
    assert sdk_sent == {"get_templates": 1, **renders} and klaviyo["sdk"]["error"] is None
    assert klaviyo["sdk"]["renders"] == 4
    preview_rows = [line for line in table.splitlines() if "preview-s" in line]
    assert len(preview_rows) == 2 and preview_rows[0].count(" - ") >= 7  # offline: no wall bound, no SDK side

    # Short operations run twice on the quick path, each on a fresh emulator: the spread is in the table.
    plans = [run for run in latest["runs"] if run["operation"] == "plan" and run["size"] in ("small", "flows-s")]
    assert plans and all(len(run["ours"]["repeats"]["wall_s"]) == 2 for run in plans)
    assert all(run["ours"]["wall_s"] in run["ours"]["repeats"]["wall_s"] for run in plans)
    assert re.search(r"\|\s+\d+%\s+\|", table)

    assert latest["diff"]["changes"] == latest["diff"]["templates"] // 10
    assert latest["startup"]["runs"] > 0


def test_read_bound_is_one_request_per_page() -> None:
    counts = {"templates": 1000, "lists": 150, "tags": 500, "tag_groups": 50, "universal_content": 150}
    assert bounds.read_requests(counts) == {
        "get_templates": 100,
        "get_lists": 15,
        "get_tags": 10,
        "get_tag_groups": 2,
        "get_all_universal_content": 2,  # 100 a page when asked
    }
    assert bounds.read_requests({"templates": 0, "lists": 11, "tags": 51, "tag_groups": 26}) == {
        "get_templates": 1,
        "get_lists": 2,
        "get_tags": 2,
        "get_tag_groups": 2,
        "get_all_universal_content": 1,
    }


def test_window_model_holds_requests_to_the_emulator_windows() -> None:
    model = bounds.WindowModel(scale=1.0)
    # get_tags: 3 a second, 60 a minute.
    starts = [model.admit("get_tags", 0.0) for _ in range(61)]
    assert starts[:3] == [0.0, 0.0, 0.0]
    assert starts[3] == 1.0
    assert starts[59] == 19.0
    assert starts[60] == 60.0  # the 61st waits for the next minute


def test_profile_counts_are_bound_by_their_own_bucket() -> None:
    """20 profile counts at 1/s and 15/m after the identity's and the account's reads, which end at 0.2 s: one a second
    in the first minute's window, the 16th at 60 s, the 20th at 64 s, answered 0.1 s later: 63.9 s after the read."""
    bound = bounds_reach.plan_bound(bounds_reach.FULL, latency=0.1, scale=1.0)
    assert bound["profile_counts_wall_s"] == pytest.approx(63.9)
    assert bound["reach_wall_s"] == pytest.approx(63.9)  # the flow and tag reads (3/s, 60/m) finish well before


def test_preview_bound_chains_each_render_at_template_render_limits() -> None:
    """20 renders after the identity's and the account's reads (answered at 0.2 s): the creates at 0.2 s, answered at
    0.3 s; template-render takes 3 a second in fixed windows, so the 19th and 20th start at 6 s, their deletes at
    6.1 s, answered at 6.2 s."""
    reads = bounds.read_requests({"templates": 100, "lists": 0, "tags": 0, "tag_groups": 1})
    bound = bench_preview.klaviyo_bound(reads, renders=20, latency=0.1, scale=1.0)
    assert bound["requests"] == 1 + sum(reads.values()) + 60
    assert bound["wall_s"] == pytest.approx(6.2)
    assert bound["renders_wall_s"] == pytest.approx(6.0)
    # Past the steady window: the 61st render waits for the next minute.
    assert bench_preview.klaviyo_bound(reads, renders=61, latency=0.1, scale=1.0)["wall_s"] == pytest.approx(60.2)


def test_read_time_is_latency_plus_the_slowest_walk() -> None:
    requests = {"get_templates": 100, "get_lists": 15, "get_tags": 10, "get_tag_groups": 2}
    # Tags are the slowest: the 10th of 3 a second starts at 3 s, answered 100 ms later.
    assert bounds.read_time(requests, latency=0.1, scale=1.0) == pytest.approx(3.1)


def test_apply_bound_follows_dependencies_and_windows(tmp_path: Path) -> None:
    from bench.accounts import AccountSpec, write_project
    from klaviyo_sync.manifest import load_project
    from klaviyo_sync.plan import build_plan
    from klaviyo_sync.resources import State

    spec = AccountSpec({"Lifecycle": ["A", "B", "C", "D"]}, [("Newsletter", [("Lifecycle", "A")])], {})
    plan = build_plan(load_project(write_project(spec, tmp_path)), State())
    bound = bounds.apply_time(plan.changes, latency=0.1, scale=1.0)
    assert bound.requests == {"create_tag_group": 1, "create_tag": 4, "create_list": 1, "tag_lists": 1}
    # The group answers at 0.1 s; three tags fit its first second (answered at 0.2 s), the fourth waits for the
    # next second (1.1 s); the link follows tag A and the list (0.3 s).
    assert bound.writes_seconds == pytest.approx(1.1)
    verified = bounds.apply_time(plan.changes, latency=0.1, scale=1.0, verify_reads={"get_tags": 4})
    # Reading tags is its own window: three at 1.1 s, the fourth at 2.0 s.
    assert verified.seconds == pytest.approx(2.1)


def test_a_repeated_operation_is_shown_by_its_median_run_with_every_run_beside_it() -> None:
    runs = iter([{"wall_s": 5.0, "cpu_s": 1.5}, {"wall_s": 3.0, "cpu_s": 1.0}])
    result = repeated({"wall_s": 4.0, "cpu_s": 1.2, "requests": {"get_tags": 1}}, 3, lambda: next(runs))
    assert result["wall_s"] == 4.0 and result["requests"] == {"get_tags": 1}
    assert result["repeats"] == {"wall_s": [4.0, 5.0, 3.0], "cpu_s": [1.2, 1.5, 1.0]}
