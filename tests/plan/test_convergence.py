"""Property: for any account and manifests, applying the plan (simulated on the model) leaves nothing to plan.

The simulation follows Klaviyo's rules as the emulator does: deleting a group removes its tags and their links,
deleting a tag or list removes its links, renaming a group or list keeps its tags and links. This checks the
diff's matching, scope and cascade logic converge; the apply suite checks the same against the emulator.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from klaviyo_sync.diff import SCOPED_KINDS
from klaviyo_sync.errors import PlanError
from klaviyo_sync.plan import DELETE_ACTIONS, build_plan
from klaviyo_sync.resources import Action, Kind, Plan, Resource, State
from tests.plan.builders import Project, Thresholds

GROUPS = ["G1", "G2", "Default"]
TAGS = ["a", "b", "c"]
LISTS = ["L1", "L2", "L3"]
TEMPLATES = ["T1", "T2", "T3"]
HTML = ["<p>x</p>", "<p>x</p>\r\n", "<p>y</p>"]
_ids = itertools.count()


def _live(kind: Kind, key: tuple[str, ...], attrs: dict) -> Resource:
    return Resource(kind, key, attrs, id=f"id{next(_ids)}", version="v")


@st.composite
def accounts(draw: st.DrawFn) -> State:
    resources = [_live(Kind.TAG_GROUP, ("Default",), {"exclusive": False, "default": True})]
    groups = ["Default", *draw(st.lists(st.sampled_from(GROUPS[:2]), unique=True))]
    resources += [_live(Kind.TAG_GROUP, (g,), {"exclusive": draw(st.booleans()), "default": False}) for g in groups[1:]]
    tags = [(g, t) for g in groups for t in TAGS if draw(st.booleans())]
    resources += [_live(Kind.TAG, tag, {}) for tag in tags]
    lists = draw(st.lists(st.sampled_from(LISTS), unique=True))
    resources += [
        _live(Kind.LIST, (name,), {"opt_in_process": draw(st.sampled_from(["single_opt_in", "double_opt_in"]))}) for name in lists
    ]
    resources += [_live(Kind.LIST_TAG, (name, *tag), {}) for name in lists for tag in tags if draw(st.booleans())]
    templates = draw(st.lists(st.sampled_from(TEMPLATES), unique=True))
    resources += [
        _live(
            Kind.TEMPLATE,
            (name,),
            {"editor_type": draw(st.sampled_from(["CODE", "USER_DRAGGABLE"])), "html": draw(st.sampled_from(HTML)), "text": None},
        )
        for name in templates
    ]
    return State(resources)


@st.composite
def projects(draw: st.DrawFn) -> Project:
    resources: list[Resource] = []

    def renamed(candidates: list[str], declared: list[str]) -> tuple[str, ...]:
        spare = [name for name in candidates if name not in declared]
        return tuple(draw(st.lists(st.sampled_from(spare), max_size=1))) if spare else ()

    groups = draw(st.lists(st.sampled_from(GROUPS), unique=True))
    for g in groups:
        exclusive = False if g == "Default" else draw(st.booleans())
        resources.append(Resource(Kind.TAG_GROUP, (g,), {"exclusive": exclusive}, renamed_from=renamed(GROUPS[:2], groups)))
    tags = [(g, t) for g in groups for t in TAGS if draw(st.booleans())]
    for tag in tags:
        declared_here = [t for g, t in tags if g == tag[0]]
        resources.append(Resource(Kind.TAG, tag, {}, renamed_from=renamed(TAGS, declared_here)))
    lists = draw(st.lists(st.sampled_from(LISTS), unique=True))
    for name in lists:
        attrs = {"opt_in_process": draw(st.sampled_from(["single_opt_in", "double_opt_in"]))} if draw(st.booleans()) else {}
        resources.append(Resource(Kind.LIST, (name,), attrs, renamed_from=renamed(LISTS, lists)))
    resources += [Resource(Kind.LIST_TAG, (name, *tag), {}) for name in lists for tag in tags if draw(st.booleans())]
    templates = draw(st.lists(st.sampled_from(TEMPLATES), unique=True))
    for name in templates:
        attrs = {"editor_type": draw(st.sampled_from(["CODE", "USER_DRAGGABLE"])), "html": draw(st.sampled_from(HTML))}
        resources.append(Resource(Kind.TEMPLATE, (name,), attrs, renamed_from=renamed(TEMPLATES, templates)))
    prune = {kind: draw(st.booleans()) for kind in SCOPED_KINDS}
    ignore = {Kind.TEMPLATE: ("T3",)} if draw(st.booleans()) else {}
    return Project(State(resources), prune=prune, ignore=ignore, thresholds=Thresholds(min_existing=10_000))


class Account:
    """The live model under Klaviyo's rules, enough to play a plan on it."""

    def __init__(self, state: State) -> None:
        self.resources = list(state)

    def remove(self, target: Resource) -> None:
        gone = {id(target)}
        for r in self.resources:
            if target.kind is Kind.TAG_GROUP and (
                (r.kind is Kind.TAG and r.key[0] == target.name) or (r.kind is Kind.LIST_TAG and r.key[1] == target.name)
            ):
                gone.add(id(r))
            if target.kind is Kind.TAG and r.kind is Kind.LIST_TAG and r.key[1:] == target.key:
                gone.add(id(r))
            if target.kind is Kind.LIST and r.kind is Kind.LIST_TAG and r.key[0] == target.name:
                gone.add(id(r))
        assert any(r is target for r in self.resources), f"{target.address} removed twice"
        self.resources = [r for r in self.resources if id(r) not in gone]

    def add(self, desired: Resource) -> None:
        attrs = dict(desired.attrs)
        if desired.kind is Kind.TAG_GROUP:
            attrs["default"] = False
        self.resources.append(_live(desired.kind, desired.key, attrs))

    def rename(self, live: Resource, desired: Resource) -> None:
        old, new = live.name, desired.name
        renamed = []
        for r in self.resources:
            key = r.key
            if r is live:
                renamed.append(_live(r.kind, desired.key, {**r.attrs, **desired.attrs}))
                continue
            if live.kind is Kind.TAG_GROUP and r.kind is Kind.TAG and key[0] == old:
                key = (new, key[1])
            if live.kind is Kind.TAG_GROUP and r.kind is Kind.LIST_TAG and key[1] == old:
                key = (key[0], new, key[2])
            if live.kind is Kind.TAG and r.kind is Kind.LIST_TAG and key[1:] == live.key:
                key = (key[0], key[1], new)
            if live.kind is Kind.LIST and r.kind is Kind.LIST_TAG and key[0] == old:
                key = (new, *key[1:])
            renamed.append(r if key == r.key else Resource(r.kind, key, r.attrs, id=r.id, version=r.version))
        self.resources = renamed

    def play(self, plan: Plan) -> State:
        for change in plan.changes:
            live = next((r for r in self.resources if change.live is not None and r.id == change.live.id), None)
            if change.action in DELETE_ACTIONS:
                assert live is not None, f"{change.address}: deleting what is already gone"
                self.remove(live)
            elif change.action is Action.REPLACE:
                assert live is not None
                self.remove(live)
                self.add(change.desired)
            elif change.action in (Action.CREATE, Action.CLONE, Action.LINK):
                self.add(change.desired)
            else:
                assert live is not None, f"{change.address}: updating what is gone"
                self.rename(live, change.desired)
        return State(self.resources)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(project=projects(), account=accounts())
def test_apply_then_plan_is_empty(project: Project, account: State) -> None:
    try:
        plan = build_plan(project, account)
    except PlanError:
        event("refused")
        return  # ambiguity or a forbidden replace: refused before anything happens, which is the point
    event("changes" if plan.changes else "no changes")
    for action in sorted({c.action.value for c in plan.changes}):
        event(action)
    ranks = [c.kind.spec.rank for c in plan.changes if c.action not in DELETE_ACTIONS]
    assert ranks == sorted(ranks), "creates and updates must run least dependent first"
    assert all(
        c.live is None or not c.live.attrs.get("default") for c in plan.changes if c.action in (Action.DELETE, Action.REPLACE)
    )
    after = Account(account).play(plan)
    again = build_plan(project, after)
    assert again.empty, [f"{c.action} {c.address}: {c.reason}" for c in again.changes]
