"""Templates klaviyo-sync creates for a moment and deletes right after: a render's input (`preview --with-klaviyo`)
and the source a flow email is pointed at when its content comes from a file (`apply`).

Each is named with its purpose's prefix, so one left behind by a run that failed or was killed in between is found
and deleted by the next run of the same kind. They are not part of the account as the tool sees it: the live
reader keeps them apart (`State.scratch`), so no plan shows, compares or prunes them, and no declaration may take
such a name.
"""

from __future__ import annotations

import uuid

PREVIEW_PREFIX = "klaviyo-sync preview scratch "
FLOW_PREFIX = "klaviyo-sync flow scratch "
PREFIXES = (PREVIEW_PREFIX, FLOW_PREFIX)


def is_scratch(name: str) -> bool:
    return name.startswith(PREFIXES)


def scratch_name(prefix: str) -> str:
    """A fresh name under `prefix`: unique, so two scratch templates never share one."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"
