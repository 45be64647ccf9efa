"""`klaviyo-sync unlock LOCK_ID`: break an apply lock whose holder will never release it (a killed CI job).

The id is the one a refused apply names. Breaking the lock of an apply that is still running lets another apply
change the account at the same time, which is what the lock exists to prevent: use it only for a dead holder.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from klaviyo_sync.commands.common import Connection, ConnectionOptions, connection_options, open_connection

if TYPE_CHECKING:
    from klaviyo_sync.lock import Marker


@click.command(
    "unlock",
    epilog="""\b
Examples:
  klaviyo-sync unlock AbC123        # the id a refused apply printed

A lock also expires by itself once its holder stops renewing it (10 minutes).""",
)
@click.argument("lock_id")
@connection_options
def command(lock_id: str, connection: ConnectionOptions) -> None:
    """Break the apply lock LOCK_ID, held by an apply that was killed."""
    with open_connection(connection) as conn:
        marker = asyncio.run(_break(conn, lock_id))
    click.echo(f"Removed the apply lock held by {marker.describe()}.")


async def _break(conn: Connection, lock_id: str) -> Marker:
    from klaviyo_sync.client import KlaviyoClient
    from klaviyo_sync.lock import break_lock

    async with KlaviyoClient(conn.api_key, base_url=conn.base_url) as client:
        return await break_lock(client, lock_id)
