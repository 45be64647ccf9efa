"""`--target KIND:NAME`: which changes a targeted plan keeps (the targets and what they depend on)."""

from __future__ import annotations

from collections.abc import Sequence

from klaviyo_sync.errors import ConfigError
from klaviyo_sync.kinds import KINDS
from klaviyo_sync.resources import Change, Key, Kind, ResourceId, State

# Each kind by its name, its name with dashes, and its label ("tag group"); "group" is a tag group.
KIND_ALIASES: dict[str, Kind] = {"group": Kind.TAG_GROUP} | {
    alias: spec.kind for spec in KINDS for alias in (spec.kind.value, spec.kind.value.replace("_", "-"))
}


def parse_target(target: str, desired: State, live: State) -> tuple[Kind, Key]:
    """`KIND:NAME`; a tag is `tag:GROUP/TAG`, a link `list_tag:LIST/GROUP/TAG` (a `/` inside a name is matched too)."""
    kind_text, sep, name = target.partition(":")
    kind = KIND_ALIASES.get(kind_text.strip().lower())
    if not sep or kind is None or not name:
        raise ConfigError(
            f"--target {target!r} is not KIND:NAME",
            hint="use e.g. template:Welcome Email, list:Newsletter, tag_group:Lifecycle, tag:Lifecycle/VIP",
        )
    parts = len(kind.spec.key_fields)
    candidates = [r.key for state in (desired, live) for r in state.of_kind(kind)]
    for key in candidates:
        if len(key) == parts and "/".join(key) == name:
            return kind, key
    raise ConfigError(
        f"--target {target!r} matches no declared or live {kind.spec.label}",
        hint="check the name (tags are GROUP/TAG); `klaviyo-sync plan -v` lists what exists",
    )


def select_targets(changes: list[Change], desired: State, live: State, targets: Sequence[str]) -> list[Change]:
    """Changes of the targeted objects, of what they bring along (a list its links) and of what they need."""
    wanted: set[ResourceId] = set()
    for target in targets:
        kind, key = parse_target(target, desired, live)
        wanted.add((kind, key))
        for child, with_live in kind.spec.brings:
            states = (desired, live) if with_live else (desired,)
            wanted |= {(child, r.key) for s in states for r in s.of_kind(child) if r.key[: len(key)] == key}
    return [change for change in changes if change.rid in _with_needs(wanted, desired)]


def _with_needs(wanted: set[ResourceId], desired: State) -> set[ResourceId]:
    """`wanted` and what it needs, to a fixed point: a tag needs its group, a link its list and tag, a clone its source."""
    result = set(wanted)
    pending = list(wanted)
    while pending:
        kind, key = pending.pop()
        needs = kind.spec.needs(key, desired.get(kind, key)) - result
        pending.extend(needs)
        result |= needs
    return result
