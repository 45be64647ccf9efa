"""The exception tree drawn in `klaviyo_sync.errors` is the one the code defines, and a 5xx is told from no answer."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import re

import pytest

import klaviyo_sync
from klaviyo_sync import errors
from klaviyo_sync.apply.report import explain_error
from klaviyo_sync.errors import AmbiguousServerError, KlaviyoSyncError, ServerError, TransportError
from tests.client.conftest import MakeClient, MakeEmulator


def _all_error_classes() -> set[type[KlaviyoSyncError]]:
    for module in pkgutil.walk_packages(klaviyo_sync.__path__, "klaviyo_sync."):
        importlib.import_module(module.name)
    found: set[type[KlaviyoSyncError]] = set()
    pending: list[type[KlaviyoSyncError]] = [KlaviyoSyncError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("klaviyo_sync.") and cls not in found:
            found.add(cls)
            pending += cls.__subclasses__()
    return found


def _drawn_tree() -> dict[str, int]:
    """Class name -> depth in the tree drawn in the module docstring."""
    assert errors.__doc__ is not None
    drawn: dict[str, int] = {}
    for line in errors.__doc__.splitlines():
        match = re.match(r"^ {4}((?:[│ ] {3})*)(?:[├└]── )?([A-Z]\w+Error)\b", line)
        if match:
            drawn[match.group(2)] = len(match.group(1)) // 4 + (1 if "──" in line else 0)
    return drawn


def test_every_error_class_is_drawn_and_every_drawn_one_exists() -> None:
    assert set(_drawn_tree()) == {cls.__name__ for cls in _all_error_classes()}


def test_the_drawn_nesting_is_the_class_nesting() -> None:
    drawn = _drawn_tree()
    for cls in _all_error_classes():
        if cls is KlaviyoSyncError:
            continue
        # The first base inside the tree is the parent the drawing shows.
        parent = next(base for base in cls.__mro__[1:] if issubclass(base, KlaviyoSyncError))
        assert drawn[cls.__name__] == drawn[parent.__name__] + 1, cls.__name__


def test_a_create_answered_5xx_is_an_ambiguous_server_error_not_a_lost_answer(
    make_emulator: MakeEmulator, make_client: MakeClient
) -> None:
    emulator = make_emulator(faults="create_list:error=503#1;create_tag_group:drop#1")

    async def run() -> tuple[BaseException, BaseException]:
        async with make_client(emulator) as client:
            with pytest.raises(AmbiguousServerError) as answered:
                await client.create_list("Newsletter", "single_opt_in")
            with pytest.raises(TransportError) as lost:
                await client.create_tag_group("Lifecycle", exclusive=False)
            return answered.value, lost.value

    answered, lost = asyncio.run(run())
    assert isinstance(answered, ServerError) and isinstance(answered, TransportError)
    assert answered.ambiguous and answered.status == 503
    assert explain_error(answered).startswith("Klaviyo answered HTTP 503 to create_list: ")
    assert not isinstance(lost, ServerError) and lost.ambiguous and lost.status is None
    assert explain_error(lost).startswith("no response from Klaviyo (create_tag_group)")
