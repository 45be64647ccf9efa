"""The printed table: one row per size, scenario and operation; each figure beside its bound and the baseline."""

from __future__ import annotations

from typing import Any


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}"


def _fixed(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _spread(side: dict[str, Any]) -> str:
    """(slowest - fastest) / median wall time of a repeated operation, in percent; '-' when it ran once."""
    walls = sorted(side.get("repeats", {}).get("wall_s", []))
    if len(walls) < 2 or not walls[len(walls) // 2]:
        return "-"
    return f"{(walls[-1] - walls[0]) / walls[len(walls) // 2] * 100:.0f}%"


def _requests(side: dict[str, Any]) -> int:
    return sum(side.get("requests", {}).values())


def _throttled(side: dict[str, Any]) -> int:
    return sum(side.get("throttled", {}).values())


COLUMNS = (
    ("size", 6),
    ("scenario", 8),
    ("op", 5),
    ("wall s", 8),
    ("bound s", 8),
    ("/bound", 6),
    ("spread", 6),
    ("sdk s", 8),
    ("sdk/ours", 8),
    ("requests", 8),
    ("bound", 6),
    ("/bound", 6),
    ("sdk req", 7),
    ("429s", 4),
    ("sdk 429", 7),
    ("cpu s", 6),
    ("sdk cpu", 7),
    ("peak MB", 7),
    ("sdk MB", 6),
)


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cell.rjust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)) + " |"


def render(results: dict[str, Any]) -> str:
    settings = results["settings"]
    lines = [
        f"klaviyo-sync benchmark (commit {results.get('commit') or '?'}, {results['date']})",
        f"plan: rate limits at scale {settings['plan_scale']:g}, {settings['latency_ms']:g} ms latency; "
        f"apply: scale {settings['apply_scale']:g}, {settings['apply_latency_ms']:g} ms latency",
        "",
        _line([name for name, _ in COLUMNS]),
        "|" + "|".join("-" * (width + 1) + ":" for _, width in COLUMNS) + "|",
    ]
    for run in results["runs"]:
        ours, bound = run["ours"], run["bound"]
        sdk = run["sdk"] or {}  # none: the SDK has no equivalent (preview --offline)
        sdk_wall = (f"{sdk['wall_s']:.2f}" + ("!" if sdk.get("error") else "")) if sdk else "-"
        lines.append(
            _line(
                [
                    run["size"],
                    run["scenario"],
                    run["operation"],
                    f"{ours['wall_s']:.2f}",
                    _fixed(bound["wall_s"]),
                    _ratio(ours["wall_s"], bound["wall_s"]),
                    _spread(ours),
                    sdk_wall,
                    _ratio(sdk.get("wall_s"), ours["wall_s"]),
                    str(_requests(ours)),
                    str(bound["requests"]),
                    _ratio(_requests(ours), bound["requests"]),
                    str(_requests(sdk)) if sdk else "-",
                    str(_throttled(ours)),
                    str(_throttled(sdk)) if sdk else "-",
                    f"{ours['cpu_s']:.2f}",
                    _fixed(sdk.get("cpu_s")),
                    f"{ours['peak_mb']:.0f}",
                    f"{sdk['peak_mb']:.0f}" if sdk else "-",
                ]
            )
        )
    errors = [
        f"  {run['size']} {run['scenario']} {run['operation']}: {run['sdk']['error']}"
        for run in results["runs"]
        if (run["sdk"] or {}).get("error")
    ]
    if errors:
        lines += ["", "! the SDK baseline gave up:", *errors]
    phases = [
        f"  {run['size']} {run['scenario']}: manifests loaded at {p['load_s']:.2f} s, account read at {p['read_s']:.2f} s, "
        f"then build {p['build_s']:.2f} s"
        for run in results["runs"]
        if (p := run["ours"].get("phases"))
    ]
    if phases:
        lines += ["", "klaviyo-sync plan, by phase (the manifests load while the account is read; then diff and plan):", *phases]
    reach = [
        f"  {run['size']} {run['scenario']}: {b['lists']} lists (a profile count and the flows each triggers) and "
        f"{b['tags']} tags (three reads each): {run['ours']['phases']['build_s']:.2f} s after the account's read, bound "
        f"{b['reach_wall_s']:.2f} s (the profile counts' 1/s and 15/m alone: {b['profile_counts_wall_s']:.2f} s), ratio "
        f"{_ratio(run['ours']['phases']['build_s'], b['reach_wall_s'])}"
        for run in results["runs"]
        if "reach_wall_s" in (b := run["bound"]) and run["ours"].get("phases")
    ]
    if reach:
        lines += ["", "klaviyo-sync plan, what its deletes reach (read after the account, for the removed objects only):", *reach]
    writes = [
        f"  {run['size']} {run['scenario']}: {run['ours']['writes_wall_s']:.2f} s, bound {run['bound']['writes_wall_s']:.2f} s, "
        f"ratio {_ratio(run['ours']['writes_wall_s'], run['bound']['writes_wall_s'])}"
        for run in results["runs"]
        if run["operation"] == "apply" and run["ours"].get("changes")
    ]
    if writes:
        lines += ["", "klaviyo-sync apply, the writes alone (before the verifying read):", *writes]
    diff, startup, saved = results["diff"], results["startup"], results["saved_plan"]
    lines += [
        "",
        f"diff of {diff['templates']} templates of {diff['kb']} KiB ({diff['changes']} changed): "
        f"{diff['cpu_s']:.2f} s CPU (target < {diff['targets']['cpu_s']:g}), diff's own peak {diff['diff_peak_mb']:.1f} MB, "
        f"process peak {diff['peak_mb']:.0f} MB with the inputs (target < {diff['targets']['peak_mb']:g})",
        f"saved plan of {saved['changes']} changed templates of {saved['kb']} KiB ({saved['content_mb']:g} MB of content): "
        f"{saved['file_mb']:.2f} MB on disk (target < {saved['targets']['file_mb']:g}), built and written in "
        f"{saved['cpu_s']:.2f} s CPU, peak {saved['peak_mb']:.0f} MB with the inputs",
        *(
            f"apply of that saved plan through the CLI: {applied['apply_wall_s']:.1f} s, peak {applied['apply_peak_mb']:.0f} MB "
            f"for {applied['content_mb']:g} MB of content (the manifests' and the account's: "
            f"{applied['apply_peak_mb'] / applied['content_mb']:.1f}x); the plan file {applied['plan_file_mb']:.2f} MB"
            for applied in [saved.get("apply")]
            if applied
        ),
        f"machine load average (1 min): {results['load_average']['start']} at the start, "
        f"{results['load_average']['end']} at the end",
        f"klaviyo-sync --help: {startup['median_s']:.3f} s median, {startup['min_s']:.3f} s fastest of {startup['runs']} "
        f"(target < {startup['target_s']:g})",
        *(
            f"template lint, {item['input']} ({item['mb']:g} MB): {item['lint_cpu_s']:.2f} s CPU (target < "
            f"{results['lint']['target_s']:g}); HTML structure check beside it {item['structure_cpu_s']:.2f} s"
            for item in results.get("lint", {}).get("inputs", [])
        ),
        "",
        "wall s / cpu s / peak MB: the measured operation in its own process; bound s: latency and the emulator's fixed",
        "windows with every request sent as soon as its dependencies allow; bound (requests): plan = ceil(templates/10) +",
        "ceil(lists/10) + ceil(tags/50) + ceil(groups/25); apply = one request per write (links batched per tag) plus that",
        "read to verify. sdk: the official SDK as a user scripts it (sequential, one list's tags and one link per request).",
        "preview: offline renders every declared template with klaviyo-sync's renderer (no requests, no SDK equivalent: '-');",
        "klaviyo creates, renders and deletes a scratch template per render, bound as above after the account's read.",
        f"spread: (slowest - fastest) / median wall time over {results['settings'].get('repeats', 1)} runs of each short "
        "operation (the plans, preview offline), each on a fresh emulator; the row shows the median run. '-': one run.",
    ]
    return "\n".join(lines)
