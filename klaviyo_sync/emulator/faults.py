"""Seeded, reproducible fault injection, configurable per operation.

A fault spec is a `;`-separated list of rules, each `OPERATIONS:KIND[=ARG][,retry-after=WHEN][TRIGGER]`:

    OPERATIONS  an operation id or a glob of them: `create_tag`, `get_*`, `*`
    KIND        latency=MS        add MS milliseconds before the response
                error=STATUS      a JSON:API 5xx error (500 by default); nothing is changed
                html=STATUS       a 5xx with an HTML body, as a CDN sends (503 by default); nothing is changed
                storm=N           this request and the next N-1 to the same operation get 429 (`Retry-After: 0`)
                drop              the change is committed, then the connection drops mid-response
                timeout=SECONDS   the change is committed, then no response for SECONDS (60 by default)
                late=SECONDS      the request is held SECONDS (36 by default) before it is processed, so the change
                                  commits late: a client that gave up earlier saw no answer, and a look-up it made
                                  meanwhile found nothing (seen: a create held 36 s after a 30 s client timeout)
    answer STATUS     (late only) answer that 5xx at once and commit later all the same, as a gateway that
                      gives up (504, 524) while the origin goes on: `late=2,answer=504`
    retry-after WHEN  (error and html only) send `Retry-After` with the 5xx, as Klaviyo or a CDN may on a 503:
                      SECONDS as delta-seconds (`retry-after=30`; a fraction is kept, for scaled test runs), or
                      `date+SECONDS` as an HTTP-date that many whole seconds from now (`retry-after=date+30`)
    TRIGGER     @P   with probability P per request (from the seeded generator)
                #N   only the N-th matching request (1-based) to each operation
                (none) every matching request

Example: `create_template:drop@0.3;get_*:latency=50;update_list:error=503#2;*:storm=3@0.05`, or
`get_lists:error=503,retry-after=2#1` for one 503 that asks for a 2 s wait.

Randomness comes from one generator per (rule, operation) seeded from the emulator's seed, so the same
sequence of requests to an operation meets the same faults, however requests to other operations interleave.
"""

from __future__ import annotations

import fnmatch
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate

KINDS = ("latency", "error", "html", "storm", "drop", "timeout", "late")
DEFAULT_ARGS = {"error": 500.0, "html": 503.0, "storm": 3.0, "timeout": 60.0, "late": 36.0}
_RULE = re.compile(
    r"^(?P<ops>[A-Za-z0-9_*?\-\[\]]+):(?P<kind>[a-z]+)(?:=(?P<arg>\d+(?:\.\d+)?))?"
    r"(?:,retry-after=(?P<retry_after>date\+\d+|\d+(?:\.\d+)?))?(?:,answer=(?P<answer>\d+))?"
    r"(?:@(?P<p>0?\.\d+|1(?:\.0+)?|0)|#(?P<nth>\d+))?$"
)


class FaultSpecError(ValueError):
    pass


@dataclass(frozen=True)
class FaultRule:
    operations: str
    kind: str
    arg: float | None = None
    probability: float | None = None
    nth: int | None = None
    retry_after: str | None = None  # "SECONDS" or "date+SECONDS", sent as a Retry-After header with the 5xx
    answer: int | None = None  # late only: the 5xx sent at once, before the late commit

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FaultSpecError(f"unknown fault kind '{self.kind}'; use one of {', '.join(KINDS)}")
        if self.kind in ("error", "html") and self.arg is not None and not 500 <= self.arg <= 599:
            raise FaultSpecError(f"{self.kind}={self.arg:g}: the status must be a 5xx")
        if self.retry_after is not None and self.kind not in ("error", "html"):
            raise FaultSpecError(f"{self.kind}: retry-after goes only with error=5xx or html=5xx")
        if self.answer is not None and (self.kind != "late" or not 500 <= self.answer <= 599):
            raise FaultSpecError(f"{self.kind}: answer=STATUS goes only with late=SECONDS, and is a 5xx")

    def retry_after_header(self, now: float) -> str | None:
        """The `Retry-After` value to send at wall-clock time `now`, if this rule asks for one."""
        if self.retry_after is None:
            return None
        if self.retry_after.startswith("date+"):
            return formatdate(int(now) + int(self.retry_after[len("date+") :]), usegmt=True)
        return self.retry_after


def parse_fault_spec(text: str) -> list[FaultRule]:
    rules = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        match = _RULE.match(part)
        if match is None:
            raise FaultSpecError(
                f"cannot read the fault rule '{part}'; write OPERATIONS:KIND[=ARG][,retry-after=SECONDS|date+SECONDS]"
                "[,answer=5XX][@PROBABILITY|#NTH], e.g. create_tag:drop@0.2, get_lists:error=503,retry-after=5#1 or "
                "create_list:late=2,answer=504#1"
            )
        rules.append(
            FaultRule(
                operations=match["ops"],
                kind=match["kind"],
                arg=float(match["arg"]) if match["arg"] else None,
                probability=float(match["p"]) if match["p"] else None,
                nth=int(match["nth"]) if match["nth"] else None,
                retry_after=match["retry_after"],
                answer=int(match["answer"]) if match["answer"] else None,
            )
        )
    return rules


@dataclass
class FaultDecision:
    latency_s: float = 0.0
    error_status: int | None = None
    html: bool = False
    throttle: bool = False
    drop: bool = False
    timeout_s: float | None = None
    late_s: float | None = None  # process the request only this long after it arrived
    late_answer: int | None = None  # the 5xx answered at once for a late request
    headers: dict[str, str] = field(default_factory=dict)  # extra headers for the injected 5xx (Retry-After)

    @property
    def after_commit_kind(self) -> str | None:
        """The fault shaping the answer to a processed request, if any."""
        if self.drop:
            return "drop"
        if self.timeout_s is not None:
            return "timeout"
        return "latency" if self.latency_s else None


@dataclass
class FaultInjector:
    rules: list[FaultRule]
    seed: int = 0
    _calls: dict[tuple[int, str], int] = field(default_factory=dict)
    _rngs: dict[tuple[int, str], random.Random] = field(default_factory=dict)
    _storms: dict[str, int] = field(default_factory=dict)
    injected: list[tuple[str, str]] = field(default_factory=list)  # (operation, kind), in order
    wall_clock: Callable[[], float] = time.time  # for Retry-After dates

    def decide(self, operation_id: str) -> FaultDecision:
        """Called once per API request (under the emulator's lock)."""
        decision = FaultDecision()
        if self._storms.get(operation_id, 0) > 0:
            self._storms[operation_id] -= 1
            decision.throttle = True
        for index, rule in enumerate(self.rules):
            if not fnmatch.fnmatchcase(operation_id, rule.operations) or not self._fires(index, rule, operation_id):
                continue
            self.injected.append((operation_id, rule.kind))
            arg = rule.arg if rule.arg is not None else DEFAULT_ARGS.get(rule.kind)
            if rule.kind == "latency":
                decision.latency_s += (arg or 0.0) / 1000
            elif rule.kind in ("error", "html"):
                decision.error_status = int(arg or 500)
                decision.html = rule.kind == "html"
                retry_after = rule.retry_after_header(self.wall_clock())
                if retry_after is None:
                    decision.headers.pop("Retry-After", None)  # the last 5xx rule that fires shapes the answer
                else:
                    decision.headers["Retry-After"] = retry_after
            elif rule.kind == "storm" and not decision.throttle:
                decision.throttle = True
                self._storms[operation_id] = max(0, int(arg or 1) - 1)
            elif rule.kind == "drop":
                decision.drop = True
            elif rule.kind == "timeout":
                decision.timeout_s = arg
            elif rule.kind == "late":
                decision.late_s, decision.late_answer = arg, rule.answer
        return decision

    def _fires(self, index: int, rule: FaultRule, operation_id: str) -> bool:
        key = (index, operation_id)
        self._calls[key] = self._calls.get(key, 0) + 1
        if rule.nth is not None:
            return self._calls[key] == rule.nth
        if rule.probability is not None:
            rng = self._rngs.get(key)
            if rng is None:
                rng = self._rngs[key] = random.Random(f"{self.seed}:{index}:{operation_id}")
            return rng.random() < rule.probability
        return True
