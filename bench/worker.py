"""One measured operation, run in its own process so its CPU time and peak memory are its own.

    python -m bench.worker < job.json     # prints one JSON object: wall_s, cpu_s, peak_mb and what the job adds

Jobs: `plan` and `apply` for `impl` "ours" (klaviyo-sync's library, as the CLI calls it) or "sdk" (the baseline),
and `diff` (the diff alone on generated templates). Request counts come from the emulator's counter
(`GET /__emulator/requests`), read before and after the measured part.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from klaviyo_sync.asyncrun import run

KIB = 1024


def main() -> int:
    job = json.loads(sys.stdin.read())
    preload(job["job"])
    result = JOBS[job["job"]](job)
    result["peak_mb"] = round(peak_kib() / KIB, 1)
    print(json.dumps(result))
    return 0


def peak_kib() -> int:
    """This process's peak resident memory. Linux carries `ru_maxrss` over from the parent across fork and exec, so
    a child would report the benchmark's own peak; VmHWM belongs to this process's memory alone."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def preload(job: str) -> None:
    """Import what the job uses before the clock starts: start-up time is measured on its own."""
    import importlib

    # httpx's async transport imports its I/O backend only when the first request leaves (50 ms here): part of
    # start-up too, as the SDK's urllib3, imported with the SDK, is.
    http = ("anyio._backends._asyncio",)
    modules = {
        "ours_plan": ("klaviyo_sync.live", "klaviyo_sync.manifest", "klaviyo_sync.plan", "klaviyo_sync.inputs", *http),
        "ours_apply": ("klaviyo_sync.live", "klaviyo_sync.manifest", "klaviyo_sync.plan", "klaviyo_sync.apply", *http),
        "sdk_plan": (
            "klaviyo_api",
            "openapi_client.api.tags_api",
            "openapi_client.api.lists_api",
            "openapi_client.api.templates_api",
        ),
        "sdk_apply": (
            "klaviyo_api",
            "openapi_client.api.tags_api",
            "openapi_client.api.lists_api",
            "openapi_client.api.templates_api",
        ),
        "sdk_flows_plan": ("klaviyo_api", "openapi_client.api.flows_api", "openapi_client.api.templates_api"),
        "sdk_reach_plan": ("klaviyo_api", "openapi_client.api.tags_api", "openapi_client.api.lists_api"),
        "sdk_flows_apply": ("klaviyo_api", "openapi_client.api.flows_api", "openapi_client.api.templates_api"),
        "ours_preview": (
            "klaviyo_sync.commands.preview",
            "klaviyo_sync.preview.pages",
            "klaviyo_sync.preview.scratch",
            "klaviyo_sync.preview.select",
            "klaviyo_sync.inputs",
            "klaviyo_sync.manifest",
            *http,
        ),
        "sdk_preview": ("klaviyo_api", "openapi_client.api.templates_api"),
        "diff": ("klaviyo_sync.diff",),
        "lint": ("klaviyo_sync.language", "klaviyo_sync.manifest.templates"),
        "saved_plan": ("klaviyo_sync.plan",),
        "cli": ("klaviyo_sync.cli", "klaviyo_sync.live", "klaviyo_sync.manifest", "klaviyo_sync.plan", "klaviyo_sync.apply"),
    }
    for name in modules[job]:
        importlib.import_module(name)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def emulator_counts(job: dict[str, Any]) -> tuple[Counter[str], Counter[str]]:
    """Requests and 429s per operation in the job's account, from the emulator's control route."""
    headers = {"Authorization": f"Klaviyo-API-Key {job['api_key']}"}
    data = httpx.get(f"{job['base_url']}/__emulator/requests", headers=headers, timeout=30).json()
    return Counter(data["counts"]), Counter(data["throttled"])


def counted(job: dict[str, Any], before: tuple[Counter[str], Counter[str]]) -> dict[str, Any]:
    requests, throttled = emulator_counts(job)
    return {"requests": dict(requests - before[0]), "throttled": dict(throttled - before[1])}


# -- klaviyo-sync -----------------------------------------------------------------------------------


def _client(job: dict[str, Any]) -> Any:
    from klaviyo_sync.client import KlaviyoClient

    return KlaviyoClient(job["api_key"], base_url=job["base_url"], time_scale=job["scale"])


def _plan(job: dict[str, Any], phases: dict[str, float] | None = None) -> tuple[Any, Any]:
    """What `klaviyo-sync plan` does: load the manifests while reading the account, then build the plan.

    Phases: `read_s` until both the project and the account are in (the load overlaps the read; `load_s` is when
    the project was ready), `build_s` the deferred HTML checks, the plan and the reads of what its removals reach."""
    from klaviyo_sync.blast import plan_with_reach
    from klaviyo_sync.inputs import loading_project, read_account

    async def read(loading: Any) -> Any:
        async with _client(job) as client:
            project, live, account = await read_account(loading, client)
            phases["read_s"] = time.perf_counter() - began
            # as the CLI: the removals' reach is read too
            return await plan_with_reach(project, live, client, account=account), live

    phases = {} if phases is None else phases
    began = time.perf_counter()
    with loading_project(Path(job["project"]), {}) as loading:
        start = loading.start

        def start_timed() -> Any:  # notes when the project was ready, whoever starts the load
            future = start()
            future.add_done_callback(lambda _: phases.setdefault("load_s", time.perf_counter() - began))
            return future

        loading.start = start_timed  # type: ignore[method-assign]
        plan, live = run(read(loading))
    phases["build_s"] = time.perf_counter() - began - phases["read_s"]
    return plan, live


def _changes(plan: Any) -> dict[str, int]:
    return dict(Counter(f"{change.action.value} {change.kind.value}" for change in plan.changes))


def ours_plan(job: dict[str, Any]) -> dict[str, Any]:
    before = emulator_counts(job)
    phases: dict[str, float] = {}
    with Stopwatch() as watch:
        plan, _ = _plan(job, phases)
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "phases": phases, "changes": _changes(plan), **counted(job, before)}


def ours_apply(job: dict[str, Any]) -> dict[str, Any]:
    from bench.bounds import apply_time
    from klaviyo_sync.apply import apply_plan

    plan, live = _plan(job)

    verifying: list[float] = []

    def on_event(event: Any) -> None:
        if event.type == "verifying":
            verifying.append(time.perf_counter())

    async def execute() -> Any:
        async with _client(job) as client:
            return await apply_plan(plan, client, live=live, on_event=on_event)

    before = emulator_counts(job)
    began = time.perf_counter()
    with Stopwatch() as watch:
        report = run(execute()) if not plan.empty else None
    result = {"wall_s": watch.wall, "cpu_s": watch.cpu, "changes": _changes(plan), **counted(job, before)}
    result["writes_wall_s"] = (verifying[0] - began) if verifying else watch.wall
    result["applied"] = len(report.applied) if report is not None else 0
    bound = apply_time(plan.changes, job["latency_s"], job["scale"])
    result["bound_writes_s"], result["bound_writes_requests"] = bound.writes_seconds, sum(bound.requests.values())
    return result


# -- the SDK baseline -------------------------------------------------------------------------------


def _spec(job: dict[str, Any]) -> Any:
    from bench.accounts import AccountSpec

    return AccountSpec.from_json(json.loads((Path(job["project"]) / "account.json").read_text(encoding="utf-8")))


def sdk_plan(job: dict[str, Any]) -> dict[str, Any]:
    from bench import baseline

    before = emulator_counts(job)
    with Stopwatch() as watch:
        spec = _spec(job)
        writes = baseline.compare(spec, baseline.read(baseline.client(job["base_url"], job["api_key"])))
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "writes": writes.count(), **counted(job, before)}


def sdk_apply(job: dict[str, Any]) -> dict[str, Any]:
    from bench import baseline

    spec = _spec(job)
    return _sdk_writes(job, baseline.read, lambda live: baseline.compare(spec, live), partial(baseline.write, spec=spec))


def _desired_flows(job: dict[str, Any]) -> dict[str, Any]:
    desired: dict[str, Any] = json.loads((Path(job["project"]) / "desired.json").read_text(encoding="utf-8"))
    return desired


def sdk_flows_plan(job: dict[str, Any]) -> dict[str, Any]:
    from bench import baseline, flows

    before = emulator_counts(job)
    with Stopwatch() as watch:
        desired = _desired_flows(job)
        writes = flows.sdk_compare(desired, flows.sdk_read(baseline.client(job["base_url"], job["api_key"]), desired))
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "writes": writes.count(), **counted(job, before)}


def sdk_reach_plan(job: dict[str, Any]) -> dict[str, Any]:
    """The SDK script's plan of the blast-radius scenario: read the account, then each removed list's and tag's reach."""
    from bench import baseline, reach

    before = emulator_counts(job)
    error = None
    with Stopwatch() as watch:
        sdk = baseline.client(job["base_url"], job["api_key"])
        live = baseline.read(sdk)
        try:
            removed_tags = [tag_id for (group, _), tag_id in live.tags.items() if group == reach.GROUP]
            reach.sdk_read(sdk, list(live.lists.values()), removed_tags)  # every list and the group's tags go
        except Exception as exc:  # the SDK gives up (a 429 after its retries): recorded, not hidden
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "lists": len(live.lists), "error": error, **counted(job, before)}


def sdk_flows_apply(job: dict[str, Any]) -> dict[str, Any]:
    from bench import flows

    desired = _desired_flows(job)
    return _sdk_writes(
        job,
        lambda sdk: flows.sdk_read(sdk, desired),
        lambda live: flows.sdk_compare(desired, live),
        partial(flows.sdk_write, desired=desired),
    )


def _sdk_writes(job: dict[str, Any], read: Any, compare: Any, write: Any) -> dict[str, Any]:
    """The SDK script's writes, measured alone: it reads and compares first, as `sdk_plan` did."""
    from bench import baseline

    sdk = baseline.client(job["base_url"], job["api_key"])
    live = read(sdk)
    writes = compare(live)
    before = emulator_counts(job)
    error = None
    with Stopwatch() as watch:
        try:
            write(sdk, live=live, writes=writes)
        except Exception as exc:  # the SDK gives up (e.g. 429 after its retries): recorded, not hidden
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "writes": writes.count(), "error": error, **counted(job, before)}


def ours_preview(job: dict[str, Any]) -> dict[str, Any]:
    """What `klaviyo-sync preview` does, `--offline` or `--with-klaviyo` (the command's own `_preview`, with the
    client paced at the emulator's scale), with no Chromium to find: the figures are the rendering's."""
    import os

    from bench.preview import NO_CHROMIUM
    from klaviyo_sync.commands.preview import _preview
    from klaviyo_sync.preview import chromium

    os.environ[chromium.ENV_VAR] = NO_CHROMIUM
    assert chromium.find_chromium() is None
    project_path, out = Path(job["project"]), Path(job["out"])

    async def with_klaviyo(loading: Any) -> str:
        from klaviyo_sync.inputs import read_account

        async with _client(job) as client:
            project, live, _ = await read_account(loading, client)
            return await _preview(project, live, client, False, (), None, out, "")

    before = emulator_counts(job) if not job["offline"] else None
    with Stopwatch() as watch:
        if job["offline"]:
            from klaviyo_sync.manifest import load_project

            summary = run(_preview(load_project(project_path, {}), None, None, False, (), None, out, ""))
        else:
            from klaviyo_sync.inputs import loading_project

            with loading_project(project_path, {}) as loading:
                summary = run(with_klaviyo(loading))
    pages = [path for path in out.rglob("*.html") if path.parent != out]
    result = {"wall_s": watch.wall, "cpu_s": watch.cpu, "pages": len(pages), "summary": summary.splitlines()[0]}
    return result | (counted(job, before) if before is not None else {"requests": {}, "throttled": {}})


def sdk_preview(job: dict[str, Any]) -> dict[str, Any]:
    """The SDK script's preview through Klaviyo: each changed template's before and after, created, rendered, deleted."""
    from bench import baseline, preview
    from klaviyo_sync.preview.contexts import DEFAULT_CONTEXT

    before = emulator_counts(job)
    error, renders = None, 0
    with Stopwatch() as watch:
        desired = json.loads((Path(job["project"]) / "desired.json").read_text(encoding="utf-8"))
        try:
            sdk = baseline.client(job["base_url"], job["api_key"])
            renders = preview.sdk_preview(sdk, desired, DEFAULT_CONTEXT, Path(job["out"]))
        except Exception as exc:  # the SDK gives up (a 429 after its retries): recorded, not hidden
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "renders": renders, "error": error, **counted(job, before)}


# -- the diff alone ---------------------------------------------------------------------------------


def diff(job: dict[str, Any]) -> dict[str, Any]:
    """Diff `templates` templates of `kb` KiB against live copies (distinct strings), `changed` of them different."""
    import tracemalloc
    from types import SimpleNamespace

    from klaviyo_sync.diff import diff as compute_diff
    from klaviyo_sync.resources import Kind, Resource, State

    count, size, changed = job["templates"], job["kb"] * 1024, job["changed"]
    body = ("<p>" + "x" * 96 + "</p>\n") * (size // 104)
    desired, live = State(), State()
    for index in range(count):
        html = f"<html><body><h1>{index}</h1>\n{body}</body></html>\n"
        live_html = html.replace("<h1>", "<h1>Old ", 1) if index < changed else "".join(list(html[:10])) + html[10:]
        name = (f"Template {index:04}",)
        desired.add(Resource(Kind.TEMPLATE, name, {"editor_type": "CODE", "html": html, "text": None}))
        live.add(Resource(Kind.TEMPLATE, name, {"editor_type": "CODE", "html": live_html, "text": None}, id=f"T{index:05}"))
    project = SimpleNamespace(state=desired, prune={}, ignore={})
    with Stopwatch() as watch:
        changes = compute_diff(project, live)
    tracemalloc.start()
    compute_diff(project, live)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "diff_peak_mb": round(traced_peak / 2**20, 1), "changes": len(changes)}


# -- template lint on the inputs that made the old tag check quadratic --------------------------------

LINT_INPUTS = {
    # 4.3 MB: 160,000 lines, each a variable (the old check took 106 s on it).
    "160,000 {{ first_name }} lines": "<p>Hi {{ first_name }}</p>\n" * 160_000,
    # 100,000 nested {% if %} (the old check took over 30 s): reported as too deep at the 101st.
    "100,000 nested {% if %}": "{% if a %}" * 100_000 + "x" + "{% endif %}" * 100_000,
}


def lint(job: dict[str, Any]) -> dict[str, Any]:
    """The template lint (`validate`'s check of each template's language and HTML rules) on each input, best of
    `runs`; and the HTML element-structure check, a separate pass over the first branch, timed beside it."""
    from klaviyo_sync.language import LintOptions, check
    from klaviyo_sync.manifest.templates import ReferencedFile, check_structure

    results = []
    for name, text in LINT_INPUTS.items():
        lint_times, structure_times = [], []
        for _ in range(job["runs"]):
            with Stopwatch() as watch:
                checked = check(text, LintOptions())
            lint_times.append(watch.cpu)
            file = ReferencedFile(Path("t.html"), "t.html", "", text)
            with Stopwatch() as watch:
                check_structure(file, checked.first_branch)
            structure_times.append(watch.cpu)
        results.append(
            {
                "input": name,
                "mb": round(len(text.encode()) / 1e6, 2),
                "lint_cpu_s": min(lint_times),
                "structure_cpu_s": min(structure_times),
            }
        )
    return {"inputs": results, "target_s": 1.0}


def saved_plan(job: dict[str, Any]) -> dict[str, Any]:
    """The saved plan of `templates` changed templates of `kb` KiB: its size on disk, and what building it and
    writing it cost (the file holds digests, so it grows with the number of changes, not their content)."""
    import json as json_module
    import tracemalloc
    from types import SimpleNamespace

    from klaviyo_sync.manifest.project import Thresholds
    from klaviyo_sync.plan import build_plan, plan_to_json
    from klaviyo_sync.resources import Kind, Resource, State

    count, size = job["templates"], job["kb"] * 1024
    body = ("<p>" + "y" * 96 + "</p>\n") * (size // 104)
    desired, live = State(), State()
    for index in range(count):
        html = f"<html><body><h1>{index}</h1>\n{body}</body></html>\n"
        name = (f"Template {index:04}",)
        desired.add(Resource(Kind.TEMPLATE, name, {"editor_type": "CODE", "html": html, "text": None}))
        live.add(Resource(Kind.TEMPLATE, name, {"editor_type": "CODE", "html": "old " + html, "text": None}, id=f"T{index:05}"))
    project = SimpleNamespace(
        state=desired, prune={}, ignore={}, thresholds=Thresholds(min_existing=count + 1), file_hashes={"klaviyo.yaml": "0" * 64}
    )
    tracemalloc.start()
    with Stopwatch() as watch:
        plan = build_plan(project, live)
        text = json_module.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n"
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "changes": len(plan.changes),
        "file_mb": round(len(text.encode("utf-8")) / 2**20, 2),
        "content_mb": round(count * size / 2**20, 1),
        "wall_s": watch.wall,
        "cpu_s": watch.cpu,
        "build_peak_mb": round(traced_peak / 2**20, 1),
    }


def cli(job: dict[str, Any]) -> dict[str, Any]:
    """One `klaviyo-sync` command in this process (`args`), as a user runs it: wall and CPU time, exit code."""
    import os

    from click.testing import CliRunner

    from klaviyo_sync.cli import group as command

    os.environ["KLAVIYO_API_KEY"] = job["api_key"]
    with Stopwatch() as watch:
        result = CliRunner().invoke(command, job["args"], catch_exceptions=False)
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "exit_code": result.exit_code, "output_tail": result.output[-300:]}


JOBS = {
    "cli": cli,
    "saved_plan": saved_plan,
    "ours_plan": ours_plan,
    "ours_apply": ours_apply,
    "sdk_plan": sdk_plan,
    "sdk_apply": sdk_apply,
    "sdk_flows_plan": sdk_flows_plan,
    "sdk_reach_plan": sdk_reach_plan,
    "sdk_flows_apply": sdk_flows_apply,
    "ours_preview": ours_preview,
    "sdk_preview": sdk_preview,
    "diff": diff,
    "lint": lint,
}

if __name__ == "__main__":
    raise SystemExit(main())
