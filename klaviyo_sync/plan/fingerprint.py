"""The live fingerprint: every object read, by id, with its version and content, so a saved plan can tell it went
stale."""

from __future__ import annotations

from klaviyo_sync.resources import Resource, State, content_hash


def fingerprint_value(resource: Resource) -> str:
    """A live object's version together with its content. Klaviyo's `updated` has a resolution of one second, so
    an edit made in the second the plan read the object would keep it; the content tells that edit apart."""
    return content_hash({"version": resource.version, "attrs": dict(resource.attrs)})


def fingerprint(live: State) -> dict[str, str]:
    """ "kind:id" -> fingerprint value of every live object read (duplicates included), to detect a stale saved plan."""
    return {
        f"{r.kind.value}:{r.id}": fingerprint_value(r)
        for r in sorted(live.everything(), key=lambda r: (r.kind.spec.rank, r.id or ""))
        if r.id
    }
