"""Both inputs of a plan, gathered at once: the manifests (loaded from disk) and the live account (read over HTTP).

Loading a large project is CPU work (YAML, schema, 1,000 template files) while reading the account is mostly waiting
on the network and the rate limits, so they overlap: the project loads in a worker thread while the account is read.
The loader starts once the reader's walks are under way (both compete for the interpreter; the read is the longer
path). The reader needs only one thing from the manifests, the names of the managed templates (whose
drag-and-drop definitions it fetches), and waits for them only once the template collection has been walked.

Before either, the run learns which account the key opens (`klaviyo_sync.account`: one `GET /api/accounts`) and
refuses it when the root manifest's `account:` pins another one (or the caller's own check, a saved plan's account,
fails): nothing else has been read then, from the account or from disk beyond klaviyo.yaml.

Manifest problems come first, as if the project had been loaded before anything else: when the project cannot be
loaded, that is the error reported, whatever else failed meanwhile (a missing API key, a failed read), and a read
still under way is cancelled. Nothing is ever written to the account here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from klaviyo_sync.errors import WrongAccountError
from klaviyo_sync.resources import Key, Kind, State

if TYPE_CHECKING:
    from klaviyo_sync.account import Account, Pin
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.manifest.project import Project

LOOP_SWITCH_INTERVAL_S = 0.0005


class ProjectLoading:
    """A project loaded in a worker thread, from the first call to `start` (or `result`) on."""

    def __init__(self, pool: ThreadPoolExecutor, path: Path, variables: Mapping[str, str]) -> None:
        self._pool, self._path, self._variables = pool, path, variables
        self._future: Future[Project] | None = None

    def start(self) -> Future[Project]:
        if self._future is None:
            self._future = self._pool.submit(_load, self._path, self._variables)
        return self._future

    def result(self) -> Project:
        """The project (waiting for it, loading it now if nothing started it); raises its ManifestError."""
        return self.start().result()

    def pin(self) -> Pin | None:
        """The account `account:` in the root manifest pins, read from that file alone; when it is there but gives
        no id, the manifest error that says why."""
        from klaviyo_sync.account import PinUnreadable, read_pin
        from klaviyo_sync.errors import ConfigError

        try:
            return read_pin(self._path, self._variables)
        except PinUnreadable:
            self.result()  # raises the located problem
            raise ConfigError(
                "`account:` in klaviyo.yaml gives no account id", hint="set it to the account's 6-character id"
            ) from None


def _load(path: Path, variables: Mapping[str, str]) -> Project:
    from klaviyo_sync.manifest import load_project  # imported by the worker too: the schema stack takes a while

    return load_project(path, variables, defer_html_checks=True)


@contextlib.contextmanager
def loading_project(path: Path, variables: Mapping[str, str]) -> Iterator[ProjectLoading]:
    """A project to load while the block reads the account; if the block fails and the project cannot be loaded
    either, the manifest error is raised instead (it is the one to fix first)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="klaviyo-sync-load") as pool:
        loading = ProjectLoading(pool, path, variables)
        try:
            yield loading
        except WrongAccountError:  # refused before the manifests were loaded, and they need not be
            raise
        except Exception:  # an interrupt (Ctrl-C) stays an interrupt
            loading.result()  # raises the manifest error, if there is one
            raise


async def read_account(
    loading: ProjectLoading,
    client: KlaviyoClient,
    *,
    check_html: bool = True,
    exact_reads: bool = False,
    check: Callable[[Account], None] | None = None,
) -> tuple[Project, State, Account]:
    """The loaded project, the live account read while the project loads, and which account that is. `check_html`:
    run the HTML checks deferred until the live account shows which files differ from it (a saved plan's apply
    checks hashes instead). `exact_reads`: one sequential walk per collection, exactly the lower bound of requests
    (slower when large). `check(account)` may refuse the account before anything else is read, as a pin does."""
    from klaviyo_sync.account import check_pin, identify
    from klaviyo_sync.live import read_live_state
    from klaviyo_sync.partitions import AUTO, SEQUENTIAL

    pin = loading.pin()
    account = await identify(client)
    check_pin(account, pin)
    if check is not None:
        check(account)
    loaded: asyncio.Future[Project] = asyncio.get_running_loop().create_future()
    names = asyncio.ensure_future(_managed_names(loaded))
    emails = asyncio.ensure_future(_managed_emails(loaded))
    partitioning = SEQUENTIAL if exact_reads else AUTO
    reading = asyncio.ensure_future(
        read_live_state(client, managed_templates=names, flow_emails=emails, partitioning=partitioning)
    )
    switch_interval = sys.getswitchinterval()
    try:
        # While the loader runs, hand the interpreter back to the event loop sooner (default: every 5 ms), so
        # requests leave and answers are taken in without waiting for the loader's time slice.
        sys.setswitchinterval(LOOP_SWITCH_INTERVAL_S)
        await asyncio.sleep(0)  # the reader starts its walks before the loader starts competing
        project = await asyncio.shield(asyncio.wrap_future(loading.start()))
        sys.setswitchinterval(switch_interval)
        loaded.set_result(project)
        live = await reading
    finally:
        sys.setswitchinterval(switch_interval)
        for task in (reading, names, emails):
            task.cancel()
        await asyncio.gather(reading, names, emails, return_exceptions=True)
    if check_html:
        project.check_deferred_html(live)
    return project, live, account


async def _managed_names(loaded: asyncio.Future[Project]) -> set[str]:
    return managed_template_names((await loaded).state)


async def _managed_emails(loaded: asyncio.Future[Project]) -> set[Key]:
    return managed_flow_emails((await loaded).state)


def managed_flow_emails(desired: State) -> set[Key]:
    """The flow emails a plan reads: the declared ones, by (flow, email)."""
    return {email.key for email in desired.of_kind(Kind.FLOW_EMAIL)}


def managed_template_names(desired: State) -> set[str]:
    """Templates whose drag-and-drop definition the plan may compare: declared ones, under any earlier name."""
    names: set[str] = set()
    for template in desired.of_kind(Kind.TEMPLATE):
        names.add(template.name)
        names.update(template.renamed_from)
    return names
