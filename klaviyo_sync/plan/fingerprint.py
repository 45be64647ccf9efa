"""The live fingerprint: every object read, by id, with its version and content, so a saved plan can tell it went
stale."""

from __future__ import annotations

import hashlib
import json

from klaviyo_sync.resources import Resource, State


def fingerprint_value(resource: Resource) -> str:
    """A live object's version together with its content. Klaviyo's `updated` has a resolution of one second, so
    an edit made in the second the plan read the object would keep it; the content tells that edit apart.

    Hashed field by field: a string (a template's HTML, up to megabytes) goes in as its UTF-8 bytes, anything else
    as canonical JSON, each behind its kind and length, so no two contents hash alike. Encoding the whole object as
    JSON first would escape every string: for a large account, most of a no-op plan's own CPU time."""
    digest = hashlib.sha256()
    _feed(digest, "version", resource.version)
    for name in sorted(resource.attrs):
        _feed(digest, name, resource.attrs[name])
    return digest.hexdigest()


def _feed(digest: hashlib._Hash, name: str, value: object) -> None:
    kind, data = ("s", value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else ("j", _json(value))
    for part in (name.encode("utf-8", "surrogatepass"), kind.encode(), data):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)


def _json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def fingerprint(live: State) -> dict[str, str]:
    """ "kind:id" -> fingerprint value of every live object read (duplicates included), to detect a stale saved plan."""
    return {
        f"{r.kind.value}:{r.id}": fingerprint_value(r)
        for r in sorted(live.everything(), key=lambda r: (r.kind.spec.rank, r.id or ""))
        if r.id
    }
