"""Check every request/response pair exchanged with the emulator against Klaviyo's official OpenAPI spec.

openapi-core 0.23.1 loads the spec slice shipped in `spec/klaviyo-openapi.json` (`scripts/gen_spec_slice.py`)
once per session, after three
fix-ups that keep it from giving wrong answers:
  1. `default` is removed from required parameters (else a missing `revision` header is silently filled in);
  2. `{"$ref": X, "nullable": true}` becomes `anyOf: [{$ref: X}, {enum: [null]}]` (else legal nulls are rejected);
  3. a `oneOf` with an alternative that requires nothing (`FlowWhatsApp`, beside `FlowEmail` in a flow message's
     definition) becomes `anyOf`: every email matches both, so `oneOf` would reject each real answer.

A `Conformance` object is an emulator observer: it validates each request (unless told the test sends invalid
requests on purpose) and each response, collecting violations for the fixture to assert at teardown. Answers
the emulator marks `beyond_spec` (HTML error pages, quirks) are not validated: they reproduce real behaviour the
spec does not describe. Quirks-mode `links.next/prev: null` are dropped before validation for the same reason.
"""

from __future__ import annotations

import copy
import json
import threading
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_FILE = Path(__file__).resolve().parents[2] / "spec" / "klaviyo-openapi.json"
HOST_URL = "https://a.klaviyo.com"  # openapi-core matches the spec's server


class SpecMissingError(AssertionError):
    """The conformance gate cannot run: it fails, never skips."""


def spec_text() -> str:
    if not SPEC_FILE.is_file():
        raise SpecMissingError(
            f"Klaviyo's OpenAPI spec slice is missing at {SPEC_FILE}: the conformance gate cannot run. "
            "Restore it from git, or regenerate it with `python scripts/gen_spec_slice.py PATH/TO/klaviyo-openapi` (the full spec)."
        )
    return SPEC_FILE.read_text(encoding="utf-8")


def fix_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The three fix-ups described in the module docstring, applied to a copy."""
    spec = copy.deepcopy(spec)
    schemas = spec.get("components", {}).get("schemas", {})

    def requires_nothing(alternative: Any) -> bool:
        ref = alternative.get("$ref", "") if isinstance(alternative, dict) else ""
        target = schemas.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/components/schemas/") else None
        return isinstance(target, dict) and target.get("type") == "object" and not target.get("required")

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("required") is True and "in" in node and isinstance(node.get("schema"), dict):
                node["schema"].pop("default", None)
            if "$ref" in node and node.get("nullable") is True:
                rest = {k: v for k, v in node.items() if k not in ("$ref", "nullable")}
                return {**rest, "anyOf": [{"$ref": node["$ref"]}, {"enum": [None]}]}
            if isinstance(node.get("oneOf"), list) and any(requires_nothing(item) for item in node["oneOf"]):
                node = {("anyOf" if key == "oneOf" else key): value for key, value in node.items()}
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    fixed = walk(spec)
    assert isinstance(fixed, dict)
    return fixed


@cache
def openapi() -> Any:
    from openapi_core import Config, OpenAPI

    spec = fix_spec(json.loads(spec_text()))
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@cache
def _error_schema_validator() -> Any:
    import jsonschema

    spec = json.loads(spec_text())
    schema = spec["components"]["responses"]["ClientError"]["content"]["application/vnd.api+json"]["schema"]
    return jsonschema.Draft7Validator(schema)


class _Request:
    def __init__(self, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes) -> None:
        self.host_url = HOST_URL
        self.path = path[:-1] if path.endswith("/") and len(path) > 1 else path  # trailing slashes are real, not spec
        self.method = method.lower()
        self.body = body or None
        self.content_type = headers.get("content-type", "").lower()
        from openapi_core.datatypes import RequestParameters

        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(query_string, keep_blank_values=True)), header=Headers(headers)
        )


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "").lower()
        self.data = body or None


class Conformance:
    """An emulator observer (`emulator.add_observer(conformance.observe)`) collecting spec violations."""

    def __init__(self, *, validate_requests: bool = True) -> None:
        self.validate_requests = validate_requests
        self.violations: list[str] = []
        self.checked = 0
        self._lock = threading.Lock()

    def observe(self, request: Any, response: Any) -> None:
        found: list[str] = []
        spec_request = _Request(request.method, request.path, request.query_string, request.headers, request.body)
        label = f"{request.method} {request.path}{'?' + request.query_string if request.query_string else ''}"
        if self.validate_requests:
            for error in openapi().iter_request_errors(spec_request):
                found.append(f"request {label}: {_describe(error)}")
        if not response.beyond_spec:
            found += [
                f"response {response.status} to {label}: {problem}" for problem in self._response_problems(spec_request, response)
            ]
        with self._lock:
            self.checked += 1
            self.violations += found

    def _response_problems(self, spec_request: _Request, response: Any) -> list[str]:
        body = _without_null_links(response.body)
        spec_response = _Response(response.status, response.headers, body)
        errors = list(openapi().iter_response_errors(spec_request, spec_response))
        if _asks_sparse_fields(spec_request):
            errors = [error for error in errors if not _only_missing_attributes(error)]
        if not any(_is_path_error(error) for error in errors):
            return [_describe(error) for error in errors]
        # No operation in the spec for this path or method (a 404/405): the body must still be Klaviyo's error shape.
        if response.status < 400:
            return [f"a success answer to a path or method the spec does not have: {_describe(errors[0])}"]
        if not spec_response.content_type.startswith("application/vnd.api+json"):
            return [f"content type {spec_response.content_type!r} is not application/vnd.api+json"]
        return [error.message for error in _error_schema_validator().iter_errors(json.loads(body))]

    def assert_clean(self) -> None:
        assert not self.violations, f"{len(self.violations)} spec violation(s):\n" + "\n".join(self.violations[:20])


def _asks_sparse_fields(spec_request: _Request) -> bool:
    return any(name.startswith("fields[") for name in spec_request.parameters.query)


def _schema_errors(error: Exception) -> list[Any]:
    return list(getattr(error, "schema_errors", None) or getattr(error.__cause__, "schema_errors", None) or [])


def _only_missing_attributes(error: Exception) -> bool:
    """Sparse fieldsets drop attributes the response schemas mark required; real Klaviyo does the same."""
    causes = _schema_errors(error)

    def missing_attribute(cause: Any) -> bool:
        if cause.validator == "required":
            return bool(cause.path) and cause.path[-1] == "attributes"
        return bool(cause.context) and all(missing_attribute(inner) for inner in cause.context)

    return bool(causes) and all(missing_attribute(cause) for cause in causes)


def _is_path_error(error: Exception) -> bool:
    from openapi_core.templating.paths.exceptions import PathError

    return isinstance(error, PathError)


def _describe(error: Exception) -> str:
    causes = _schema_errors(error)
    details = "; ".join(f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message[:300]}" for e in causes[:5])
    if not details and error.__cause__ is not None:
        details = str(error.__cause__)[:300]
    return f"{type(error).__name__}" + (f" ({details})" if details else f": {str(error)[:300]}")


def _without_null_links(body: bytes) -> bytes:
    """Quirks mode writes `links.next/prev: null` as real Klaviyo does; the spec makes them optional URIs."""
    if not body or b'": null' not in body:
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return body
    links = document.get("links") if isinstance(document, dict) else None
    if isinstance(links, dict):
        for name in ("next", "prev"):
            if links.get(name, "") is None:
                del links[name]
    return json.dumps(document).encode("utf-8")
