"""Apply a plan to the account: ordered, concurrent within pacing, never a duplicate, always reported.

executor.py   apply_plan(plan, client, ...) -> ApplyReport; raises ApplyError(report) when work is left undone
schedule.py   the plan's changes as tasks with dependencies (deletes first; a link after its list and tag)
steps.py      one function per action and kind, turning a Change into client calls
ids.py        ids by natural key: read from the account or created earlier in the run
staleness.py  a saved plan against the manifests and the account as they are now
verify.py     after an apply: do the changed objects match?
report.py     what was applied, failed and not attempted; text and JSON views
progress.py   a progress bar or one line per change, with rate-limit waits
"""

from klaviyo_sync.apply.executor import ApplyEvent, Interruption, apply_plan
from klaviyo_sync.apply.report import ApplyReport, render_report_text, report_to_json
from klaviyo_sync.apply.staleness import check_staleness

__all__ = [
    "ApplyEvent",
    "ApplyReport",
    "Interruption",
    "apply_plan",
    "check_staleness",
    "render_report_text",
    "report_to_json",
]
