"""``api/openapi.yaml`` as an executable contract: route a request, judge it, check a response.

Everything here is read from the spec, so a route, a limit or an error code added there is
checked without changing this module. The rule it applies (also in the spec's introduction):

- A request is *accepted by the spec* when, after the normalisation the spec declares
  (``x-normalize``, ``x-aliases``, ``allowEmptyValue``), it conforms to the operation's
  parameters, ``x-require-any-of`` and request body schema.
- A response *conforms* when its status is documented for the operation (or, for a path or
  method the API does not have, is the gateway's documented ``403``), its required headers are
  there, and its body is valid against the documented schema for that status and media type.
- An exchange *agrees* with the spec when the response conforms and: an accepted request got a
  2xx or one of the operation's ``x-semantic-errors``; a request the spec rejects got a 4xx; and
  nothing got a 5xx.

Patterns are applied to the whole value, as in ECMA-262 (Python's ``$`` would also match before
a final newline, which is how ``"alice\\n"`` once passed as a user id).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import regex
import yaml
from jsonschema import FormatChecker, validators
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker

ROOT = Path(__file__).resolve().parent.parent.parent
SPEC_PATH = ROOT / "api" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


# -- loading ------------------------------------------------------------------------------------


def load_raw(path: Path = SPEC_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def resolve(node: Any, root: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points to (the spec has no cycles)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                raise ValueError(f"$ref cycle through {ref}")
            target: Any = root
            for part in ref.removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(target, root, (*seen, ref))
        return {key: resolve(value, root, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, root, seen) for item in node]
    return node


def _whole_value_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and "\\p{" in pattern and any(unicodedata.category(c) == "Cn" for c in instance):
        # Unicode properties are read with the runtime's Unicode version (the code's): a code
        # point that a newer version of the regex engine knows as a letter is no letter here yet.
        yield ValidationError(f"{instance!r} has code points unassigned in Unicode {unicodedata.unidata_version}")
        return
    if isinstance(instance, str) and not _ecma_anchors(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _ecma_anchors(pattern: str) -> Any:
    # A final unescaped "$" must mean the end of the value, not "before a final newline". The
    # ``regex`` module reads Unicode property escapes (\p{L}), as ECMAScript's "u" flag does.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return regex.compile(pattern)


Validator = validators.extend(OAS30Validator, {"pattern": _whole_value_pattern})
# The library's "byte" check raises on non-ASCII text instead of failing it; the spec's own
# pattern on every base64 field is stricter anyway.
FORMATS = FormatChecker()
FORMATS.checkers = {name: check for name, check in oas30_format_checker.checkers.items() if name != "byte"}


def schema_problems(instance: Any, schema: dict[str, Any]) -> list[str]:
    validator = Validator(schema, format_checker=FORMATS)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(value)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


# -- normalisation declared by the spec ---------------------------------------------------------

_STEPS = {
    "trim": str.strip,
    "nfc": lambda text: unicodedata.normalize("NFC", text),
    "lowercase": str.lower,
    "casefold": str.casefold,
    "media-type": lambda text: text.split(";", 1)[0],
}
_BOOLEANS = {"true": True, "false": False}


def normalize(instance: Any, schema: Mapping[str, Any]) -> Any:
    """Apply the spec's ``x-normalize`` / ``x-aliases`` to a request value, as the service does."""
    steps = schema.get("x-normalize", [])
    if isinstance(instance, str):
        text = instance
        for step in steps:
            if step in _STEPS:
                text = _STEPS[step](text)
        if "boolean" in steps:
            return _BOOLEANS.get(text, instance)
        return schema.get("x-aliases", {}).get(text, text)
    if isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        items = [normalize(item, schema["items"]) for item in instance]
        # maxItems counts the list as sent: only a list within it is merged (a longer one fails).
        if "dedupe" in steps and len(items) <= schema.get("maxItems", len(items)):
            unique: dict[str, Any] = {}
            for item in items:
                unique.setdefault(json.dumps(item, sort_keys=True), item)
            items = list(unique.values())
        return items
    if isinstance(instance, dict) and isinstance(schema.get("properties"), Mapping):
        properties = schema["properties"]
        return {
            key: normalize(value, properties[key]) if key in properties else value for key, value in instance.items()
        }
    return instance


# -- operations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    parameters: list[dict[str, Any]]
    pattern: re.Pattern[str] = field(repr=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def parameters_in(self, location: str) -> list[dict[str, Any]]:
        return [p for p in self.parameters if p["in"] == location]

    @property
    def semantic_errors(self) -> set[tuple[int, str]]:
        return {(int(e["status"]), e["code"]) for e in self.spec.get("x-semantic-errors", [])}

    def response(self, status: int) -> dict[str, Any] | None:
        responses = self.spec["responses"]
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses:
                return responses[key]
        return None

    def error_codes(self, status: int) -> set[str]:
        """The ``code`` values documented for an error status (empty if none are listed)."""
        response = self.response(status) or {}
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        return set(_code_enum(schema))

    def body_media_type(self, media_type: str | None) -> tuple[str, dict[str, Any]] | None:
        """The request body entry a request's media type selects: an exact one, a range such as
        ``image/*``, or else JSON (the service reads a body as JSON whatever its Content-Type)."""
        content = self.spec.get("requestBody", {}).get("content", {})
        for key, entry in content.items():
            if media_type is not None and media_matches(key, media_type):
                return key, entry
        if "application/json" in content:
            return "application/json", content["application/json"]
        return next(iter(content.items()), None)

    def body_schema(self, media_type: str | None) -> dict[str, Any] | None:
        chosen = self.body_media_type(media_type)
        return None if chosen is None else chosen[1].get("schema", {})


def media_matches(media_range: str, media_type: str) -> bool:
    if media_range.endswith("/*"):
        return media_type.startswith(media_range[:-1])
    return media_range == media_type


def _only_with(media_ranges: str | list[str], media_type: str) -> bool:
    """``x-only-with-media-type``: one media range, or a list of them."""
    ranges = [media_ranges] if isinstance(media_ranges, str) else media_ranges
    return any(media_matches(media_range, media_type) for media_range in ranges)


def media_type_of(content_type: str | None) -> str | None:
    return (content_type or "").split(";", 1)[0].strip().lower() or None


def _code_enum(schema: Mapping[str, Any]) -> Iterator[str]:
    for part in [schema, *schema.get("allOf", [])]:
        yield from part.get("properties", {}).get("code", {}).get("enum", [])


def _path_pattern(path: str) -> re.Pattern[str]:
    # As API Gateway (and the local mode) route: a {parameter} is one non-empty path segment.
    parts = [f"(?P<{seg[1:-1]}>[^/]+)" if seg.startswith("{") else re.escape(seg) for seg in path.strip("/").split("/")]
    return re.compile("^/" + "/".join(parts) + "$")


class Contract:
    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.raw = load_raw(path)
        self.spec = resolve(self.raw, self.raw)
        self.operations: list[Operation] = []
        for route, item in self.spec["paths"].items():
            shared = item.get("parameters", [])
            for method in METHODS:
                if method in item:
                    operation = item[method]
                    names = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
                    parameters = [p for p in shared if (p["name"], p["in"]) not in names]
                    parameters += operation.get("parameters", [])
                    self.operations.append(
                        Operation(method.upper(), route, operation, parameters, _path_pattern(route))
                    )
        # Literal segments win over parameters, as in API Gateway.
        self.operations.sort(key=lambda op: (op.path.count("{"), -len(op.path)))
        self.no_route = self.spec["components"]["responses"]["NoSuchRoute"]

    def operation(self, method: str, path: str) -> Operation:
        found = next((op for op in self.operations if op.method == method.upper() and op.path == path), None)
        if found is None:
            raise KeyError(f"{method} {path} is not in the spec")
        return found

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation a (decoded) request path reaches, and its path parameters."""
        for op in self.operations:
            found = op.pattern.match(path)
            if found and op.method == method.upper():
                return op, found.groupdict()
        return None

    # -- requests ---------------------------------------------------------------------------

    def request_problems(
        self,
        op: Operation,
        path_parameters: Mapping[str, str],
        query: Mapping[str, list[str]],
        body: bytes | None,
        content_type: str | None = None,
    ) -> list[str]:
        """Why the spec rejects this request (empty: the spec accepts it)."""
        problems: list[str] = []
        for parameter in op.parameters_in("path"):
            value = path_parameters.get(parameter["name"], "")
            problems += [f"path {parameter['name']}: {p}" for p in schema_problems(value, parameter["schema"])]
        media_type = media_type_of(content_type)
        return problems + self._query_problems(op, query, media_type) + self._body_problems(op, body, media_type)

    @staticmethod
    def _query_problems(op: Operation, query: Mapping[str, list[str]], media_type: str | None) -> list[str]:
        # Parameters marked x-only-with-media-type exist only with that body (else the query is not read).
        declared = [
            p
            for p in op.parameters_in("query")
            if "x-only-with-media-type" not in p or _only_with(p["x-only-with-media-type"], media_type or "")
        ]
        if not declared:
            return []
        problems = [
            f"query {name}: repeated with different values" for name, values in query.items() if len(set(values)) > 1
        ]
        if any("x-only-with-media-type" in p for p in declared):
            names = {p["name"] for p in declared}
            problems += [f"query {name}: not a parameter of this request" for name in query if name not in names]
        given: set[str] = set()
        for parameter in declared:
            name, schema = parameter["name"], parameter["schema"]
            values = query.get(name)
            if not values or (values[-1] == "" and parameter.get("allowEmptyValue")):
                if parameter.get("required"):
                    problems.append(f"query {name}: required")
                continue
            given.add(name)
            value = _from_query_string(values[-1], parameter)
            problems += [f"query {name}: {p}" for p in schema_problems(normalize(value, schema), schema)]
        any_of = op.spec.get("x-require-any-of")
        if any_of and not given & set(any_of):
            problems.append(f"query: give at least one of {', '.join(any_of)}")
        return problems

    @staticmethod
    def _body_problems(op: Operation, body: bytes | None, media_type: str | None) -> list[str]:
        request_body = op.spec.get("requestBody")
        chosen = op.body_media_type(media_type)
        if request_body is None or chosen is None:
            return []
        _, entry = chosen
        schema = entry.get("schema", {})
        problems: list[str] = []
        if "x-media-type-schema" in entry:  # e.g. image/*: which image types
            declared = entry["x-media-type-schema"]
            problems += [f"Content-Type: {p}" for p in schema_problems(normalize(media_type, declared), declared)]
        if not body:
            return [*problems, "body: required"] if request_body.get("required") else problems
        if schema.get("format") == "binary":
            return problems  # any bytes: what they are is for the service to see
        try:
            # The gateway hands a non-binary body to the function as UTF-8 text.
            document = json.loads(body.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            return ["body: not JSON"]
        if not _is_unicode(document):
            problems.append("body: a string with an escaped lone surrogate")
        return problems + [f"body {p}" for p in schema_problems(normalize(document, schema), schema)]

    # -- responses --------------------------------------------------------------------------

    def response_problems(
        self, op: Operation | None, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """Why this response does not conform to the spec (empty: it conforms)."""
        response = self.no_route if op is None else op.response(status)
        where = "no route" if op is None else op.label
        if response is None or (op is None and status != 403):
            return [f"{where}: status {status} is not documented"]
        problems: list[str] = []
        lower = {name.lower(): value for name, value in headers.items()}
        for name, header in response.get("headers", {}).items():
            value = lower.get(name.lower())
            if value is None:
                if header.get("required"):
                    problems.append(f"{where} {status}: header {name} is missing")
                continue
            problems += [f"{where} {status}: header {name}: {p}" for p in schema_problems(value, header["schema"])]
        content = response.get("content")
        if not content:
            if body:
                problems.append(f"{where} {status}: a body where none is documented")
            return problems
        media_type = lower.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in content:
            return [*problems, f"{where} {status}: Content-Type {media_type!r} is not one of {sorted(content)}"]
        try:
            document = json.loads(body)
        except ValueError:
            return [*problems, f"{where} {status}: body is not JSON: {body[:200]!r}"]
        schema = content[media_type].get("schema", {})
        return problems + [f"{where} {status}: body {p}" for p in schema_problems(document, schema)]

    # -- both -------------------------------------------------------------------------------

    def exchange_problems(
        self,
        method: str,
        url: str,
        request_headers: Mapping[str, str],
        request_body: bytes | None,
        status: int,
        response_headers: Mapping[str, str],
        response_body: bytes,
    ) -> list[str]:
        """Everything that disagrees with the spec in one HTTP request and its response."""
        parts = urlsplit(url)
        matched = self.match(method, unquote(parts.path) or "/")
        op, path_parameters = matched if matched else (None, {})
        problems = self.response_problems(op, status, response_headers, response_body)
        if status >= 500:
            problems.append(f"{method} {parts.path}: server error {status}")
        if op is None:
            return problems
        content_type = next((v for k, v in request_headers.items() if k.lower() == "content-type"), None)
        query = parse_qs(parts.query, keep_blank_values=True)
        rejected_because = self.request_problems(op, path_parameters, query, request_body, content_type)
        code = _error_code(response_body) if 400 <= status < 500 else None
        if status in (414, 431) and _request_head_bytes(method, parts, request_headers) > GATEWAY_HEAD_LIMIT - 512:
            return problems  # API Gateway's own limit on the request line and headers, whatever the spec says
        if not rejected_because and 400 <= status < 500 and (status, code) not in op.semantic_errors:
            problems.append(
                f"{op.label}: a request the spec accepts got {status} {code}, which is not in x-semantic-errors"
            )
        if rejected_because and status < 400:
            problems.append(f"{op.label}: a request the spec rejects got {status}: {'; '.join(rejected_because)}")
        return problems


# API Gateway refuses a request whose request line and headers together are over 10,240 bytes
# (414/431, as the local gateway does); the margin covers headers the HTTP client adds on its own.
GATEWAY_HEAD_LIMIT = 10_240


def _request_head_bytes(method: str, parts: Any, headers: Mapping[str, str]) -> int:
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    line = len(f"{method} {target} HTTP/1.1\r\n".encode())
    return line + sum(len(f"{name}: {value}\r\n".encode()) for name, value in headers.items())


def _is_unicode(document: Any) -> bool:
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _from_query_string(value: str, parameter: Mapping[str, Any]) -> Any:
    """A query string value as the type its schema names (integers: decimal digits only; arrays:
    comma-separated with ``explode: false``)."""
    schema = parameter["schema"]
    if schema.get("type") == "integer" and value.isascii() and value.isdigit():
        return int(value) if len(value) <= schema.get("x-max-digits", len(value)) else value
    if schema.get("type") == "array" and parameter.get("explode") is False:
        items = value.split(",")
        return [item for item in items if item.strip()] if parameter.get("x-ignore-blank-items") else items
    return value


def _error_code(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document.get("code") if isinstance(document, dict) else None


@cache
def contract() -> Contract:
    return Contract()


def assert_exchange_conforms(response: Any) -> None:
    """Fail unless a ``requests.Response`` (and the request that made it) agrees with the spec."""
    __tracebackhide__ = True
    request = response.request
    body = request.body.encode() if isinstance(request.body, str) else request.body
    problems = contract().exchange_problems(
        request.method, request.url, request.headers, body, response.status_code, response.headers, response.content
    )
    assert not problems, f"{request.method} {request.url[:200]} -> {response.status_code}: " + "\n".join(problems)
