"""Running a coroutine whose result is large: the result is returned, never formatted on the way."""

from __future__ import annotations

import pytest

from klaviyo_sync.asyncrun import run


class Formatted:
    """Counts how often it is formatted (a loaded project or a plan would format every template's content)."""

    def __init__(self) -> None:
        self.reprs = 0

    def __repr__(self) -> str:
        self.reprs += 1
        return "Formatted()"


def test_the_result_comes_back_without_being_formatted() -> None:
    result = Formatted()

    async def produce() -> Formatted:
        return result

    assert run(produce()) is result
    assert result.reprs == 0  # asyncio.run formats its main task's result twice on Python 3.11 and 3.12


def test_a_failure_is_raised_as_it_is() -> None:
    async def fail() -> None:
        raise LookupError("nothing here")

    with pytest.raises(LookupError, match="nothing here"):
        run(fail())
