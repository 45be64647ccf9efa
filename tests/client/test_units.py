"""Pure pieces of the client: base URL policy, query encoding, filter literals, reading a 429's wait."""

from __future__ import annotations

import httpx
import pytest

from klaviyo_sync.client import KlaviyoClient, check_base_url
from klaviyo_sync.client.filters import any_of, equals
from klaviyo_sync.client.http import encode_params
from klaviyo_sync.client.retry import RetryPolicy, retry_after_seconds
from klaviyo_sync.errors import ConfigError
from tests.support.canary import CANARY_KEY


@pytest.mark.parametrize(
    "url",
    [
        "https://a.klaviyo.com",
        "https://a.klaviyo.com/",
        "http://127.0.0.1:8080",
        "http://127.1.2.3:9",
        "http://localhost:4010",
        "http://[::1]:8000",
    ],
)
def test_https_anywhere_and_http_only_on_loopback_are_accepted(url: str) -> None:
    assert check_base_url(url).host


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://a.klaviyo.com", "refusing to send the API key over plain http to a.klaviyo.com"),
        ("http://10.0.0.5:8080", "refusing to send the API key over plain http to 10.0.0.5"),
        ("http://localhost.evil.example", "refusing to send the API key over plain http"),
        ("ftp://a.klaviyo.com", "needs an https:// scheme"),
        ("a.klaviyo.com", "needs an https:// scheme"),
        ("https://user:secret@a.klaviyo.com", "must not carry a user name or password"),
    ],
)
def test_a_key_is_never_sent_in_clear_off_this_machine(url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        KlaviyoClient(CANARY_KEY, base_url=url)
    assert expected in str(caught.value)
    assert "secret" not in str(caught.value)  # a password in the URL is not echoed
    assert caught.value.hint


@pytest.mark.parametrize("key", ["", "   ", "pk_abc\n", "pk_ab c", "pk_é"])
def test_unusable_keys_are_refused_without_echoing_them(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        KlaviyoClient(key)
    if key.strip():
        assert key.strip() not in str(caught.value)


def test_query_parameters_keep_bracket_keys_and_join_arrays() -> None:
    params = {"fields[template]": ["name", "html"], "page[size]": 10, "include": "tags", "x": None, "flag": True}
    assert encode_params(params) == {"fields[template]": "name,html", "page[size]": "10", "include": "tags", "flag": "true"}
    url = httpx.URL("https://a.klaviyo.com/api/templates", params=encode_params(params))
    assert url.query == b"fields%5Btemplate%5D=name%2Chtml&page%5Bsize%5D=10&include=tags&flag=true"


def test_filter_literals_escape_quotes_and_backslashes() -> None:
    assert equals("name", "Tony's ball") == "equals(name,'Tony\\'s ball')"
    assert equals("name", "a\\b") == "equals(name,'a\\\\b')"
    assert any_of("name", ['Say "hi"', "Ünïcode"]) == 'any(name,["Say \\"hi\\"","Ünïcode"])'


def _throttled(headers: dict[str, str], detail: str | None) -> httpx.Response:
    body = {"errors": [{"status": 429, "code": "throttled", "title": "Request was throttled.", "detail": detail}]}
    return httpx.Response(429, headers=headers, json=body if detail is not None else None)


@pytest.mark.parametrize(
    ("headers", "detail", "expected"),
    [
        ({"Retry-After": "7"}, None, 7.0),
        ({"Retry-After": "7"}, "Request was throttled. Expected available in 3 seconds.", 7.0),  # disagrees: header wins
        ({"Retry-After": "1"}, "Request was throttled. Expected available in 0.35 seconds.", 0.35),  # the precise figure
        ({}, "Request was throttled. Expected available in 1 second.", 1.0),
        ({}, "Request was throttled. Expected available in 56.0 seconds.", 56.0),
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, "Expected available in 2 seconds", 2.0),
        ({}, "Request was throttled.", None),
        ({}, None, None),
    ],
)
def test_the_wait_a_429_asks_for(headers: dict[str, str], detail: str | None, expected: float | None) -> None:
    assert retry_after_seconds(_throttled(headers, detail)) == expected


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=30.0)
    for attempt in range(12):
        ceiling = min(30.0, 0.5 * 2**attempt)
        wait = policy.backoff(attempt)
        assert ceiling / 2 <= wait <= ceiling
    scaled = RetryPolicy(time_scale=0.01)
    assert scaled.backoff(3) <= 0.04


def test_no_hint_means_backoff_rather_than_hammering() -> None:
    policy = RetryPolicy(backoff_base=0.5)
    wait = policy.throttle_wait(_throttled({"Retry-After": "0"}, "Expected available in 0 seconds."), attempt=2)
    assert wait >= 1.0
