"""The live fingerprint: every object read, by id, with its version, so a saved plan can tell it went stale."""

from __future__ import annotations

from klaviyo_sync.resources import State, content_hash


def fingerprint(live: State) -> dict[str, str]:
    """ "kind:id" -> version for every live object read (duplicates included), to detect a stale saved plan."""
    return {
        f"{r.kind.value}:{r.id}": r.version or content_hash(dict(r.attrs))
        for r in sorted(live.everything(), key=lambda r: (r.kind.spec.rank, r.id or ""))
        if r.id
    }
