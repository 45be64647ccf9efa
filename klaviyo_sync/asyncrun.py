"""Running a coroutine to completion from synchronous code, its result kept out of reach of the event loop.

`asyncio.run` (Python 3.11 and 3.12) formats the main task's repr as it puts back the SIGINT handler it installed,
twice, and that repr holds the task's result: for a loaded project or a plan, every template's content (about
0.7 s of CPU for 1,000 templates of 60 KB, and as much memory again for the string). Here the main task only
stores the result, so its repr stays short; everything else, Ctrl-C included, is `asyncio.run`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)`, for a coroutine whose result is large."""
    results: list[T] = []

    async def main() -> None:
        results.append(await coroutine)

    asyncio.run(main())
    return results[0]
