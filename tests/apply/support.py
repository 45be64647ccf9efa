"""Helpers for the apply tests: projects on disk, in-process clients on the emulator, plan-and-apply loops."""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from klaviyo_sync.apply import ApplyReport, apply_plan
from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.inputs import managed_flow_emails
from klaviyo_sync.live import read_live_state
from klaviyo_sync.manifest import load_project
from klaviyo_sync.plan import build_plan
from klaviyo_sync.resources import Kind, Plan, State
from tests.support.canary import CANARY_KEY
from tests.support.clients import emulator_client

# A realistic small account: groups with tags (one exclusive), lists linked to tags, templates with a clone.
SHOP_MANIFEST = """\
version: 1
prune: {templates: true, tag_groups: true, lists: true}
tag_groups:
  - name: Lifecycle
    tags: [Welcome, Winback, VIP]
  - name: Channel
    exclusive: true
    tags: [Email, SMS]
lists:
  - name: Newsletter
    opt_in_process: double_opt_in
    tags: {Lifecycle: [Welcome], Channel: Email}
  - name: VIP Customers
    opt_in_process: single_opt_in
    tags: {Lifecycle: [VIP, Winback]}
  - name: SMS Subscribers
    tags: {Channel: SMS}
templates:
  - name: Welcome Email
    html: templates/welcome.html
    text: templates/welcome.txt
  - name: Order Confirmation
    html: templates/order.html
  - name: Welcome Email (FR)
    clone_from: Welcome Email
    html: templates/welcome-fr.html
"""

SHOP_FILES = {
    "templates/welcome.html": "<html><body><h1>Hi {{ first_name|default:'there' }}</h1></body></html>\n",
    "templates/welcome.txt": "Hi {{ first_name|default:'there' }}\n",
    "templates/order.html": "<html><body><p>Order {{ order.id }} confirmed.</p></body></html>\n",
    "templates/welcome-fr.html": "<html><body><h1>Bonjour {{ first_name|default:'toi' }}</h1></body></html>\n",
}


def write_project(root: Path, manifest: str = SHOP_MANIFEST, files: Mapping[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "klaviyo.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    for rel, text in (SHOP_FILES if files is None else files).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@asynccontextmanager
async def connect(emulator: Any, *, key: str = CANARY_KEY, **options: Any) -> AsyncIterator[KlaviyoClient]:
    """Our client on the emulator in process; backoffs shrunk so retries cost milliseconds."""
    options.setdefault("time_scale", 0.001)
    async with emulator_client(emulator, api_key=key, **options) as client:
        yield client


async def plan_project(client: KlaviyoClient, root: Path, **options: Any) -> tuple[Plan, State]:
    project = load_project(root)
    live = await read_live_state(client, flow_emails=managed_flow_emails(project.state))
    return build_plan(project, live, **options), live


async def plan_and_apply(client: KlaviyoClient, root: Path, **options: Any) -> ApplyReport:
    plan, live = await plan_project(client, root)
    # No window for creates to commit late: unless a test injects the `late` fault, the emulator never does.
    options.setdefault("late_commit_window", 0.0)
    return await apply_plan(plan, client, live=live, retry_delay=0.0, **options)


def duplicates(live: State) -> dict[str, int]:
    """Names held by more than one live object of a kind (the thing apply must never create)."""
    found: Counter[str] = Counter()
    for (kind, key), resources in live.conflicts.items():
        found[f"{kind.value}:{'/'.join(key)}"] = len(resources)
    return dict(found)


def summary(live: State) -> dict[str, list[tuple[str, ...]]]:
    """Keys per kind, for comparing whole accounts."""
    return {kind.value: [r.key for r in live.of_kind(kind)] for kind in Kind}
