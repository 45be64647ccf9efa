"""Both inputs of a plan, gathered at once: the manifests (loaded from disk) and the live account (read over HTTP).

Loading a large project is CPU work (YAML, schema, 1,000 template files) while reading the account is mostly waiting
on the network and the rate limits, so they overlap: the project loads in a worker thread while the account is read.
The reader needs only one thing from the manifests, the names of the managed templates (whose drag-and-drop
definitions it fetches), and waits for them only once the template collection has been walked.

Manifest problems come first, as if the project had been loaded before anything else: when the project cannot be
loaded, that is the error reported, whatever else failed meanwhile (a missing API key, a failed read), and a read
still under way is cancelled. Nothing is ever written to the account here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from klaviyo_sync.resources import Kind, State

if TYPE_CHECKING:
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.manifest.project import Project


@contextlib.contextmanager
def loading_project(path: Path, variables: Mapping[str, str]) -> Iterator[Future[Project]]:
    """Load the project in a worker thread for the duration of the block; if the block fails and the project
    could not be loaded either, the manifest error is raised instead (it is the one to fix first)."""
    from klaviyo_sync.manifest import load_project

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="klaviyo-sync-load") as pool:
        loading = pool.submit(load_project, path, variables, defer_html_checks=True)
        try:
            yield loading
        except BaseException:
            loading.result()  # raises the manifest error, if there is one
            raise


async def read_account(loading: Future[Project], client: KlaviyoClient, *, check_html: bool = True) -> tuple[Project, State]:
    """The loaded project and the live account, read while the project loads. `check_html`: run the HTML checks
    deferred until the live account shows which files differ from it (a saved plan's apply checks hashes instead)."""
    from klaviyo_sync.live import read_live_state

    project_loaded = asyncio.wrap_future(loading)
    names = asyncio.ensure_future(_managed_names(project_loaded))
    reading = asyncio.ensure_future(read_live_state(client, managed_templates=names))
    try:
        project = await asyncio.shield(project_loaded)
        live = await reading
    finally:
        for task in (reading, names):
            task.cancel()
        await asyncio.gather(reading, names, return_exceptions=True)
    if check_html:
        project.check_deferred_html(live)
    return project, live


async def _managed_names(project_loaded: asyncio.Future[Project]) -> set[str]:
    return managed_template_names((await asyncio.shield(project_loaded)).state)


def managed_template_names(desired: State) -> set[str]:
    """Templates whose drag-and-drop definition the plan may compare: declared ones, under any earlier name."""
    names: set[str] = set()
    for template in desired.of_kind(Kind.TEMPLATE):
        names.add(template.name)
        names.update(template.renamed_from)
    return names
