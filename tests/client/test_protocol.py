"""What goes over the wire: headers, JSON:API bodies, cursor pages followed verbatim, a DELETE with a body."""

from __future__ import annotations

import asyncio
import json
from itertools import pairwise
from typing import Any

import httpx
import pytest

from klaviyo_sync import __version__
from klaviyo_sync.api_spec import REVISION
from klaviyo_sync.client import KlaviyoClient
from klaviyo_sync.client.filters import any_of
from klaviyo_sync.errors import ServerError
from tests.client.conftest import Handler, MakeClient, MakeEmulator, Scripted, seed_account
from tests.support.canary import CANARY_KEY


class Wire:
    """An emulator observer keeping what each request looked like (never its Authorization header)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: Any, response: Any) -> None:
        query = f"?{request.query_string}" if request.query_string else ""
        self.requests.append(
            {
                "method": request.method,
                "url": f"{request.base_url}{request.path}{query}",
                "path": request.path,
                "content_type": request.headers.get("content-type"),
                "accept": request.headers.get("accept"),
                "revision": request.headers.get("revision"),
                "user_agent": request.headers.get("user-agent"),
                "body": json.loads(request.body) if request.body else None,
                "answer": response.json() if response.body and response.status == 200 else None,
            }
        )


@pytest.mark.parametrize("quirks", [False, True], ids=["next-absent", "next-null"])
def test_pages_are_followed_by_their_next_link_verbatim(
    make_emulator: MakeEmulator, make_client: MakeClient, quirks: bool
) -> None:
    emulator = make_emulator(quirks=quirks)
    emulator.seed(CANARY_KEY, seed_account(tag_groups=3, tags=120, lists=23, templates=0))
    wire = Wire()
    emulator.add_observer(wire)
    names = [f"List {index:02d}" for index in range(0, 23, 2)]  # 12 matches: two pages of at most 10

    async def run() -> tuple[int, list[str]]:
        async with make_client(emulator) as client:
            tag_pages = [page async for page in client.paginate("get_tags", {"include": "tag-group"})]
            list_ids = [
                item["id"]
                async for page in client.paginate("get_lists", {"filter": any_of("name", names), "sort": "-name"})
                for item in page["data"]
            ]
            return sum(len(page["data"]) for page in tag_pages), list_ids

    tag_count, list_ids = asyncio.run(run())
    assert tag_count == 120 and len(set(list_ids)) == 12
    for operation_path, pages in (("/api/tags", 3), ("/api/lists", 2)):
        walk = [request for request in wire.requests if request["path"].rstrip("/") == operation_path]
        assert len(walk) == pages
        for previous, following in pairwise(walk):
            assert following["url"] == previous["answer"]["links"]["next"]  # byte for byte, parameters not sent again
        last_links = walk[-1]["answer"]["links"]
        assert last_links.get("next") is None and ("next" in last_links) is quirks


def _pages(pages: dict[str, dict[str, Any]], seen: list[httpx.URL]) -> Handler:
    """Answers each path?query from `pages`: links a client may meet that the emulator never writes."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        target = request.url.raw_path.decode("ascii")
        return httpx.Response(200, json=pages[target], headers={"Content-Type": "application/vnd.api+json"})

    return handler


def _page(ids: list[str], next_link: Any = None, *, with_links: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {"data": [{"type": "tag-group", "id": i, "attributes": {"name": i}} for i in ids]}
    if with_links:
        document["links"] = {"self": "https://a.klaviyo.com/api/tag-groups", "next": next_link}
    return document


def test_a_next_link_elsewhere_is_followed_on_the_base_url_only(scripted: Scripted) -> None:
    """The key goes only where --base-url points: a link to another host or scheme keeps its path and query."""
    seen: list[httpx.URL] = []
    pages = {
        "/api/tag-groups": _page(["a"], "http://evil.example:8080/api/tag-groups?page%5Bcursor%5D=b%2Fc%3D%3D"),
        "/api/tag-groups?page%5Bcursor%5D=b%2Fc%3D%3D": _page(["b"], "/api/tag-groups?page%5Bcursor%5D=last"),
        "/api/tag-groups?page%5Bcursor%5D=last": _page(["c"], with_links=False),  # no `links` at all ends the walk
    }

    async def run() -> list[str]:
        async with KlaviyoClient(CANARY_KEY, transport=scripted(_pages(pages, seen)), pacing=False) as client:
            return [item["id"] async for page in client.paginate("get_tag_groups") for item in page["data"]]

    assert asyncio.run(run()) == ["a", "b", "c"]
    assert {(url.scheme, url.host, url.port) for url in seen} == {("https", "a.klaviyo.com", None)}
    assert [url.raw_path for url in seen[1:]] == [
        b"/api/tag-groups?page%5Bcursor%5D=b%2Fc%3D%3D",
        b"/api/tag-groups?page%5Bcursor%5D=last",
    ]


@pytest.mark.parametrize("bad_link", ["https://a.klaviyo.com/api/tag-groups?page%5Bcursor%5D=x", 42])
def test_a_next_link_that_loops_or_is_not_a_url_is_an_error(scripted: Scripted, bad_link: Any) -> None:
    seen: list[httpx.URL] = []
    pages = {
        "/api/tag-groups": _page(["a"], "https://a.klaviyo.com/api/tag-groups?page%5Bcursor%5D=x"),
        "/api/tag-groups?page%5Bcursor%5D=x": _page(["b"], bad_link),
    }

    async def run() -> None:
        async with KlaviyoClient(CANARY_KEY, transport=scripted(_pages(pages, seen)), pacing=False) as client:
            async for _ in client.paginate("get_tag_groups"):
                pass

    with pytest.raises(ServerError, match="pagination link that loops or is not a URL") as caught:
        asyncio.run(run())
    assert caught.value.operation == "get_tag_groups" and caught.value.hint
    assert len(seen) == 2


def test_every_request_carries_klaviyos_headers_and_writes_a_json_api_body(
    make_emulator: MakeEmulator, make_client: MakeClient
) -> None:
    emulator = make_emulator()
    wire = Wire()
    emulator.add_observer(wire)

    async def run() -> None:
        async with make_client(emulator) as client:
            group = await client.create_tag_group("Lifecycle", exclusive=True)
            await client.update_tag_group(group, "Stage")
            [page async for page in client.paginate("get_tag_groups")]
            await client.delete_tag_group(group)

    asyncio.run(run())
    assert [request["method"] for request in wire.requests] == ["POST", "PATCH", "GET", "DELETE"]
    for request in wire.requests:
        assert request["revision"] == REVISION
        assert request["accept"] == "application/vnd.api+json"
        assert request["user_agent"] == f"klaviyo-sync/{__version__}"
        assert request["content_type"] == ("application/vnd.api+json" if request["body"] is not None else None)
    assert wire.requests[0]["body"] == {"data": {"type": "tag-group", "attributes": {"name": "Lifecycle", "exclusive": True}}}
    assert wire.requests[1]["body"]["data"]["id"] == wire.requests[3]["path"].rsplit("/", 1)[-1]


def test_removing_tags_from_lists_is_a_delete_with_a_body(make_emulator: MakeEmulator, make_client: MakeClient) -> None:
    emulator = make_emulator()
    wire = Wire()

    async def run() -> tuple[str, list[str]]:
        async with make_client(emulator) as client:
            group = await client.create_tag_group("G", exclusive=False)
            tag = await client.create_tag(group, "T")
            lists = [await client.create_list(f"L{index}") for index in range(3)]
            await client.tag_lists(tag, lists)
            emulator.add_observer(wire)
            await client.untag_lists(tag, [lists[2], lists[0], lists[2]])
            [page async for page in client.paginate("get_list_ids_for_tag", path_params={"id": tag})]
            return tag, lists

    tag, lists = asyncio.run(run())
    removal, check = wire.requests
    assert (removal["method"], removal["path"]) == ("DELETE", f"/api/tags/{tag}/relationships/lists")
    assert removal["content_type"] == "application/vnd.api+json"
    assert removal["body"] == {"data": [{"type": "list", "id": lists[2]}, {"type": "list", "id": lists[0]}]}
    assert [item["id"] for item in check["answer"]["data"]] == [lists[1]]
