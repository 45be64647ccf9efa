"""The whole benchmark run: for each account size, three scenarios, each planned then applied, ours beside the SDK.

Scenarios, in order on the same accounts: `create` (everything from empty), `update` (10 % of the templates get new
HTML), `noop` (nothing left to do). Each operation runs against a fresh emulator served on loopback and loaded with
the account as the previous step left it:
- plan at `--plan-scale` (default 1.0: Klaviyo's real read limits) with `--latency-ms` per request;
- apply at `--apply-scale` (windows that much shorter) with the latency shrunk by the same factor, so latency and
  rate limits keep their proportions and the ratio to the bound does not depend on the scale.
klaviyo-sync and the SDK use two accounts of the same emulator (limits are per account) and run one after the other.
Then the flow email scenario (`bench/flows.py`), the blast-radius one (`bench/reach.py`: a plan deleting lists and
a tag group reads what they reach) and the preview one (`bench/preview.py`: `preview --offline` and
`preview --with-klaviyo`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from bench import bounds, flows, preview, reach
from bench.accounts import SIZES, Size, generate, update_templates, write_project
from bench.clock import AccountClock
from bench.table import render

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
OURS_KEY = "pk_bench_klaviyo_sync"
SDK_KEY = "pk_bench_official_sdk"
SCENARIOS = ("create", "update", "noop")
STARTUP_RUNS = 7
WORKER_TIMEOUT_S = 3600
# Every emulator of a run stamps `created` and `updated` with this clock: Klaviyo's time at its real rates.
ACCOUNT_CLOCK = AccountClock()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description="Benchmark plan and apply against the emulator and the SDK.")
    parser.add_argument("--quick", action="store_true", help="only the small account and a small diff: a smoke test")
    parser.add_argument("--sizes", default="small,medium,large", help="comma-separated: " + ", ".join(SIZES))
    parser.add_argument("--latency-ms", type=float, default=100.0, help="emulated latency per request at scale 1 (ms)")
    parser.add_argument("--plan-scale", type=float, default=1.0, help="rate-limit time scale for plan (1 = real windows)")
    parser.add_argument("--apply-scale", type=float, default=0.1, help="time scale for apply (windows and latency)")
    parser.add_argument("--diff-templates", type=int, default=1000, help="templates in the diff measurement")
    parser.add_argument("--diff-kb", type=int, default=100, help="size of each template in the diff measurement (KiB)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results (default bench/results)")
    parser.add_argument("--no-flows", action="store_true", help="leave out the flow email scenario")
    parser.add_argument("--no-reach", action="store_true", help="leave out the blast-radius scenario")
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs of each short operation (the plans), to show its spread (default 5)"
    )
    parser.add_argument("--no-preview", action="store_true", help="leave out the preview scenario")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.diff_templates, args.repeats = "small", 100, min(args.repeats, 2)
    unknown = [name for name in args.sizes.split(",") if name not in SIZES]
    if unknown:
        parser.error(f"unknown size {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    if min(args.plan_scale, args.apply_scale) <= 0 or args.latency_ms < 0:
        parser.error("scales must be positive and the latency not negative")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_at_start = _load_average()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "settings": {
            "latency_ms": args.latency_ms,
            "plan_scale": args.plan_scale,
            "apply_scale": args.apply_scale,
            "apply_latency_ms": args.latency_ms * args.apply_scale,
            "repeats": args.repeats,
        },
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="klaviyo-sync-bench-") as workdir:
        for name in args.sizes.split(","):
            results["runs"].extend(run_size(SIZES[name], Path(workdir) / name, args))
        if not args.no_flows:
            results["runs"].extend(run_flows(flows.QUICK if args.quick else flows.FULL, Path(workdir) / "flows", args))
        if not args.no_reach:
            results["runs"].extend(run_reach(reach.QUICK if args.quick else reach.FULL, Path(workdir) / "reach", args))
        if not args.no_preview:
            size = preview.QUICK if args.quick else preview.FULL
            results["runs"].extend(run_preview(size, Path(workdir) / "preview", args))
    results["diff"] = measure_diff(args.diff_templates, args.diff_kb)
    results["saved_plan"] = measure_saved_plan(args.diff_templates, args.diff_kb)
    results["saved_plan"]["apply"] = measure_saved_plan_apply(args.diff_templates, args.diff_kb)
    results["startup"] = measure_startup()
    results["lint"] = worker({"job": "lint", "runs": 3})
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    results["load_average"] = {"start": load_at_start, "end": _load_average()}
    print(render(results))
    path = write_results(results, args.out)
    print(f"\nResults written to {path}")
    return 0


def run_size(size: Size, workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    spec = generate(size)
    project = write_project(spec, workdir / "project")
    state: dict[str, Any] | None = None
    runs = []
    for scenario in SCENARIOS:
        if scenario == "update":
            update_templates(spec)
            write_project(spec, project)
        print(f"[{size.name}] {scenario}: plan", file=sys.stderr, flush=True)
        plan_run, state = run_plan(size, scenario, project, state, args)
        print(f"[{size.name}] {scenario}: apply", file=sys.stderr, flush=True)
        apply_run, state = run_apply(size, scenario, project, state, args)
        runs += [plan_run, apply_run]
    return runs


def run_plan(size: Size, scenario: str, project: Path, state: dict[str, Any] | None, args: argparse.Namespace) -> Any:
    latency = args.latency_ms / 1000
    job = {"job": "ours_plan", "api_key": OURS_KEY, "project": str(project), "scale": args.plan_scale}
    with serve(state, args.plan_scale, args.latency_ms) as (emulator, base_url):
        reads = bounds.read_requests(account_counts(emulator, OURS_KEY))
        ours = worker({**job, "base_url": base_url})
        sdk = worker({**job, "job": "sdk_plan", "api_key": SDK_KEY, "base_url": base_url})
        state = emulator.dump()
    ours = repeated(ours, args.repeats, partial(served_worker, job, state, args.plan_scale, args.latency_ms))
    walks = {"requests": sum(reads.values()), "wall_s": bounds.read_time(reads, latency, args.plan_scale), "throttled": 0}
    bound = bounds.identified(walks, latency)
    return {"size": size.name, "scenario": scenario, "operation": "plan", "ours": ours, "sdk": sdk, "bound": bound}, state


def run_apply(size: Size, scenario: str, project: Path, state: dict[str, Any] | None, args: argparse.Namespace) -> Any:
    scale = args.apply_scale
    latency_ms = args.latency_ms * scale
    with serve(state, scale, latency_ms) as (emulator, base_url):
        job = {"project": str(project), "base_url": base_url, "scale": scale, "latency_s": latency_ms / 1000}
        ours = worker({"job": "ours_apply", "api_key": OURS_KEY, **job})
        sdk = worker({"job": "sdk_apply", "api_key": SDK_KEY, **job})
        verify = bounds.read_requests(account_counts(emulator, OURS_KEY)) if ours["changes"] else {}
        state = emulator.dump()
    writes_s, writes_requests = ours.pop("bound_writes_s"), ours.pop("bound_writes_requests")
    verify_s = bounds.read_time(verify, latency_ms / 1000, scale) if verify else 0.0
    bound = {
        "requests": writes_requests + sum(verify.values()),
        "wall_s": writes_s + verify_s,
        "writes_wall_s": writes_s,
        "throttled": 0,
    }
    return {"size": size.name, "scenario": scenario, "operation": "apply", "ours": ours, "sdk": sdk, "bound": bound}, state


def run_flows(size: flows.FlowSize, workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Flow emails following templates the project changes: plan and apply the repoints, then a no-op plan."""
    from klaviyo_sync.emulator import Emulator, EmulatorConfig

    project = flows.write_project(size, workdir / "project")
    emulator = Emulator(EmulatorConfig(seed=7, clock=ACCOUNT_CLOCK))
    for key in (OURS_KEY, SDK_KEY):
        emulator.seed(key, flows.seed(size))
    state: dict[str, Any] | None = emulator.dump()
    latency = args.latency_ms / 1000
    runs = []
    for scenario in ("repoint", "noop"):
        print(f"[{size.name}] {scenario}: plan", file=sys.stderr, flush=True)
        job = {"job": "ours_plan", "api_key": OURS_KEY, "project": str(project), "scale": args.plan_scale}
        with serve(state, args.plan_scale, args.latency_ms) as (served, base_url):
            ours = worker({**job, "base_url": base_url})
            sdk = worker({**job, "job": "sdk_flows_plan", "api_key": SDK_KEY, "base_url": base_url})
            state = served.dump()
        ours = repeated(ours, args.repeats, partial(served_worker, job, state, args.plan_scale, args.latency_ms))
        bound = bounds.identified(flows.plan_bound(size, latency, args.plan_scale), latency)
        runs.append({"size": size.name, "scenario": scenario, "operation": "plan", "ours": ours, "sdk": sdk, "bound": bound})
        if scenario == "noop":
            break
        print(f"[{size.name}] {scenario}: apply", file=sys.stderr, flush=True)
        scale = args.apply_scale
        latency_ms = args.latency_ms * scale
        with serve(state, scale, latency_ms) as (served, base_url):
            job = {"project": str(project), "base_url": base_url, "scale": scale, "latency_s": latency_ms / 1000}
            ours = worker({"job": "ours_apply", "api_key": OURS_KEY, **job})
            sdk = worker({"job": "sdk_flows_apply", "api_key": SDK_KEY, **job})
            state = served.dump()
        writes_s, writes_requests = ours.pop("bound_writes_s"), ours.pop("bound_writes_requests")
        verify = flows.plan_bound(size, latency_ms / 1000, scale)  # the verifying read is the plan's read again
        bound = {
            "requests": writes_requests + verify["requests"],
            "wall_s": writes_s + verify["wall_s"],
            "writes_wall_s": writes_s,
            "throttled": 0,
        }
        runs.append({"size": size.name, "scenario": scenario, "operation": "apply", "ours": ours, "sdk": sdk, "bound": bound})
    return runs


def run_reach(size: reach.ReachSize, workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """A plan deleting every list and a tag group: the account's read, then what the removals reach."""
    from klaviyo_sync.emulator import Emulator, EmulatorConfig

    project = reach.write_project(workdir / "project")
    emulator = Emulator(EmulatorConfig(seed=7, clock=ACCOUNT_CLOCK))
    for key in (OURS_KEY, SDK_KEY):
        ids = emulator.seed(key, reach.seed(size))
        flow_ids = emulator.seed(key, reach.flows(size, ids["lists"], ids["templates"][0]))["flows"]
        emulator.seed(key, reach.carriers(size, flow_ids))
    print(f"[{size.name}] prune: plan", file=sys.stderr, flush=True)
    with serve(emulator.dump(), args.plan_scale, args.latency_ms) as (_, base_url):
        job = {"project": str(project), "base_url": base_url, "scale": args.plan_scale}
        ours = worker({"job": "ours_plan", "api_key": OURS_KEY, **job})
        sdk = worker({"job": "sdk_reach_plan", "api_key": SDK_KEY, **job})
    bound = reach.plan_bound(size, args.latency_ms / 1000, args.plan_scale)
    return [{"size": size.name, "scenario": "prune", "operation": "plan", "ours": ours, "sdk": sdk, "bound": bound}]


def run_preview(size: preview.PreviewSize, workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """`preview --offline` of every declared template (no requests, no SDK equivalent), then `preview --with-klaviyo`
    of the changed ones at the plan's scale and latency: a scratch template created, rendered and deleted per render."""
    from klaviyo_sync.emulator import Emulator, EmulatorConfig

    project = preview.write_project(size, workdir / "project")
    print(f"[{size.name}] offline: preview", file=sys.stderr, flush=True)
    offline = {"job": "ours_preview", "offline": True, "project": str(project), "out": str(workdir / "offline")}
    ours = repeated(worker(offline), args.repeats, partial(worker, offline))
    bound: dict[str, Any] = {"requests": 0, "wall_s": None, "throttled": 0}  # CPU time alone: no wall-time bound
    runs = [{"size": size.name, "scenario": "offline", "operation": "preview", "ours": ours, "sdk": None, "bound": bound}]
    emulator = Emulator(EmulatorConfig(seed=7, clock=ACCOUNT_CLOCK))
    for key in (OURS_KEY, SDK_KEY):
        emulator.seed(key, preview.seed(size))
    print(f"[{size.name}] klaviyo: preview", file=sys.stderr, flush=True)
    with serve(emulator.dump(), args.plan_scale, args.latency_ms) as (served, base_url):
        reads = bounds.read_requests(account_counts(served, OURS_KEY))
        job = {"project": str(project), "base_url": base_url, "scale": args.plan_scale}
        ours = worker({"job": "ours_preview", "offline": False, "api_key": OURS_KEY, "out": str(workdir / "ours"), **job})
        sdk = worker({"job": "sdk_preview", "api_key": SDK_KEY, "out": str(workdir / "sdk"), **job})
    bound = preview.klaviyo_bound(reads, size.renders, args.latency_ms / 1000, args.plan_scale)
    runs.append({"size": size.name, "scenario": "klaviyo", "operation": "preview", "ours": ours, "sdk": sdk, "bound": bound})
    return runs


def repeated(first: dict[str, Any], times: int, again: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A short operation measured `times` times (`first`, then `again`): the run of median wall time, with every
    run's wall and CPU time beside it, so a ratio is read against the run-to-run spread and is no one-off."""
    runs = [first] + [again() for _ in range(times - 1)]
    median = sorted(runs, key=lambda run: run["wall_s"])[len(runs) // 2]
    return {**median, "repeats": {"wall_s": [run["wall_s"] for run in runs], "cpu_s": [run["cpu_s"] for run in runs]}}


def served_worker(job: dict[str, Any], state: dict[str, Any] | None, scale: float, latency_ms: float) -> dict[str, Any]:
    """One more run of a read-only job, on a fresh emulator holding `state` (its rate-limit windows fresh too)."""
    with serve(state, scale, latency_ms) as (_, base_url):
        return worker({**job, "base_url": base_url})


@contextlib.contextmanager
def serve(state: dict[str, Any] | None, scale: float, latency_ms: float) -> Iterator[tuple[Any, str]]:
    """A fresh emulator holding `state`, on a free loopback port, stopped when the block ends."""
    from klaviyo_sync.emulator import Emulator, EmulatorConfig
    from klaviyo_sync.emulator.server import serve_in_background

    emulator = Emulator(EmulatorConfig(rate_limits=scale, latency_ms=latency_ms, seed=7, clock=ACCOUNT_CLOCK))
    if state is not None:
        emulator.store.load_json(state)
    with ACCOUNT_CLOCK.at_scale(scale), serve_in_background(emulator=emulator) as base_url:
        yield emulator, base_url


def account_counts(emulator: Any, api_key: str) -> dict[str, int]:
    from klaviyo_sync.emulator.store import account_id

    account = emulator.dump()["accounts"].get(account_id(api_key))
    if account is None:  # not used yet: only the default tag group would be there
        return {"templates": 0, "lists": 0, "tags": 0, "tag_groups": 1, "universal_content": 0}
    counts = {kind: len(account[kind]) for kind in ("templates", "lists", "tags", "tag_groups")}
    # Resources added since the first four keep their records in the account's collections.
    return counts | {"universal_content": len(account.get("collections", {}).get("universal_content", {}))}


def worker(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job in a child process; its JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=WORKER_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark job {job['job']} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_diff(templates: int, kb: int) -> dict[str, Any]:
    result = worker({"job": "diff", "templates": templates, "kb": kb, "changed": templates // 10})
    return {"templates": templates, "kb": kb, **result, "targets": {"cpu_s": 2.0, "peak_mb": 500.0}}


def measure_saved_plan(templates: int, kb: int) -> dict[str, Any]:
    result = worker({"job": "saved_plan", "templates": templates, "kb": kb})
    return {"templates": templates, "kb": kb, **result, "targets": {"file_mb": 5.0}}


def measure_saved_plan_apply(templates: int, kb: int) -> dict[str, Any]:
    """`plan --out` and `apply PLANFILE` through the CLI for `templates` changed templates of `kb` KiB, with rate
    limits off: the apply's peak memory against the content it carries (the manifests' and the account's)."""
    from klaviyo_sync.emulator import Emulator, EmulatorConfig
    from klaviyo_sync.emulator.server import serve_in_background

    body = ("<p>" + "z" * 96 + "</p>\n") * (kb * 1024 // 104)
    html = {f"Template {index:04}": f"<html><body><h1>{index}</h1>\n{body}</body></html>\n" for index in range(templates)}
    with tempfile.TemporaryDirectory(prefix="klaviyo-sync-saved-plan-") as workdir:
        root = Path(workdir) / "project"
        (root / "templates").mkdir(parents=True)
        for index, text in enumerate(html.values()):
            (root / "templates" / f"t{index:04}.html").write_text(text, encoding="utf-8")
        entries = "".join(f"  - name: {name}\n    html: templates/t{i:04}.html\n" for i, name in enumerate(html))
        (root / "klaviyo.yaml").write_text(f"version: 1\nsafety: {{max_update_fraction: 1.0}}\ntemplates:\n{entries}", "utf-8")
        emulator = Emulator(EmulatorConfig(seed=7))
        emulator.seed(OURS_KEY, {"templates": [{"name": n, "html": "old " + t} for n, t in html.items()]})
        saved = Path(workdir) / "plan.json"
        with serve_in_background(emulator=emulator) as base_url:
            common = {"job": "cli", "api_key": OURS_KEY}
            plan = worker({**common, "args": ["plan", str(root), "--out", str(saved), "--base-url", base_url]})
            apply = worker({**common, "args": ["apply", str(saved), "--project", str(root), "--base-url", base_url]})
        if apply["exit_code"] != 0:
            raise RuntimeError(f"apply of the saved plan failed: {apply['output_tail']}")
        content_mb = 2 * sum(len(text) for text in html.values()) / 2**20  # the manifests' content and the account's
        return {
            "plan_file_mb": round(saved.stat().st_size / 2**20, 2),
            "plan_peak_mb": plan["peak_mb"],
            "apply_wall_s": apply["wall_s"],
            "apply_peak_mb": apply["peak_mb"],
            "content_mb": round(content_mb, 1),
        }


def measure_startup() -> dict[str, Any]:
    """`klaviyo-sync --help` in a fresh process, several times: the median and the fastest."""
    command = [str(Path(sys.executable).with_name("klaviyo-sync")), "--help"]
    if not Path(command[0]).exists():
        command = [sys.executable, "-c", "from klaviyo_sync.cli import main; main()", "--help"]
    times = []
    for _ in range(STARTUP_RUNS):
        began = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, cwd=REPO)
        times.append(time.perf_counter() - began)
    times.sort()
    return {"median_s": times[len(times) // 2], "min_s": times[0], "runs": len(times), "target_s": 0.3}


def write_results(results: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = results["date"].replace(":", "").replace("+0000", "Z")
    path = directory / f"bench-{stamp}.json"
    text = json.dumps(results, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    (directory / "latest.json").write_text(text, encoding="utf-8")
    return path


def _load_average() -> float | None:
    """The 1-minute load average: wall times from a busy machine say so."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _commit() -> str | None:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO, check=False)
    return done.stdout.strip() or None
