"""The spec itself: valid OpenAPI, the same routes as the template, the same limits and error codes
as the code, examples that are true, and curl snippets that work against the local mode."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import regex
import requests
from openapi_spec_validator import validate

from image_service import errors, validation
from image_service.config import DEFAULT_MAX_IMAGE_BYTES, MAX_DOWNLOAD_URL_TTL_SECONDS
from image_service.ids import IMAGE_ID_PATTERN
from localapi.app import LocalApp
from localapi.gateway import GATEWAY_ERRORS
from tests.support.contract import Contract, contract, schema_problems
from tests.support.environment import ROOT, TEMPLATE
from tests.support.images import picture

CONTRACT = contract()
SCHEMAS = CONTRACT.spec["components"]["schemas"]
UPLOAD = SCHEMAS["UploadRequest"]["properties"]
IMAGE = SCHEMAS["Image"]["properties"]
LIST_QUERY = {p["name"]: p["schema"] for p in CONTRACT.operation("GET", "/images").parameters_in("query")}
RAW_UPLOAD_QUERY = {p["name"] for p in CONTRACT.operation("POST", "/images").parameters_in("query")}
# The largest photo a deployment can accept (a direct upload, MaxDirectUploadBytes).
MAX_STORED_BYTES = TEMPLATE.body["Parameters"]["MaxDirectUploadBytes"]["MaxValue"]


def _ecma_regex(instance: object) -> bool:
    # ``regex`` reads Unicode property escapes (\p{L}) as ECMAScript's "u" flag does.
    return not isinstance(instance, str) or bool(regex.compile(instance))


def test_spec_is_valid_openapi(monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenAPI's patterns are ECMAScript regular expressions; the validator checks the "regex"
    # format with Python's re, which has no \p{...} (the Tag pattern needs \p{L}\p{M}\p{N}).
    import jsonschema._format as formats
    import openapi_schema_validator

    checkers = [getattr(formats, name) for name in dir(formats) if name.endswith("_format_checker")]
    checkers += [
        getattr(openapi_schema_validator, name) for name in dir(openapi_schema_validator) if "format_checker" in name
    ]
    for checker in checkers:
        if isinstance(checker, formats.FormatChecker) and "regex" in checker.checkers:
            monkeypatch.setitem(checker.checkers, "regex", (_ecma_regex, regex.error))
    validate(CONTRACT.raw)
    # The same pattern, read the ECMAScript way, is one that Python's re would refuse.
    with pytest.raises(re.error):
        re.compile(SCHEMAS["Tag"]["pattern"])


def test_routes_are_the_templates_routes() -> None:
    # A route added to the template but not to the spec (or the other way round) is drift.
    template_routes = {(route.method, route.path) for spec in TEMPLATE.functions() for route in spec.routes}
    # OPTIONS is API Gateway's CORS preflight, not a function's route.
    assert {(op.method, op.path) for op in CONTRACT.operations if op.method != "OPTIONS"} == template_routes


# (where in the spec, its value, the code's value)
LIMITS = [
    ("UserId.pattern", SCHEMAS["UserId"]["pattern"], validation.USER_ID_PATTERN.pattern),
    ("ImageId.pattern", SCHEMAS["ImageId"]["pattern"], IMAGE_ID_PATTERN.pattern),
    ("Tag.pattern", SCHEMAS["Tag"]["pattern"], validation.TAG_PATTERN),
    ("UserIdInput.pattern", SCHEMAS["UserIdInput"]["pattern"], validation.USER_ID_PATTERN.pattern),
    ("ContentType.enum", sorted(SCHEMAS["ContentType"]["enum"]), sorted(validation.SUPPORTED_CONTENT_TYPES)),
    ("Variant.enum", SCHEMAS["Variant"]["enum"], list(validation.VARIANTS)),
    ("UploadRequest.properties", sorted(UPLOAD), sorted(validation.UPLOAD_FIELDS)),
    (
        "DirectUploadRequest.properties",
        sorted(SCHEMAS["DirectUploadRequest"]["properties"]),
        sorted(validation.METADATA_FIELDS),
    ),
    ("ImageEdit.properties", sorted(SCHEMAS["ImageEdit"]["properties"]), sorted(validation.EDIT_FIELDS)),
    ("POST /images query parameters", sorted(RAW_UPLOAD_QUERY), sorted(validation.RAW_UPLOAD_PARAMETERS)),
    ("UploadRequest.tags.maxItems", UPLOAD["tags"]["maxItems"], validation.MAX_TAGS),
    ("UploadRequest.title.maxLength", UPLOAD["title"]["maxLength"], validation.MAX_TITLE_CHARS),
    ("UploadRequest.description.maxLength", UPLOAD["description"]["maxLength"], validation.MAX_DESCRIPTION_CHARS),
    (
        "UploadRequest.image_base64.maxLength",
        UPLOAD["image_base64"]["maxLength"],
        validation.base64_length(DEFAULT_MAX_IMAGE_BYTES),
    ),
    ("Image.tags.maxItems", IMAGE["tags"]["maxItems"], validation.MAX_TAGS),
    ("Image.title.maxLength", IMAGE["title"]["maxLength"], validation.MAX_TITLE_CHARS),
    ("Image.description.maxLength", IMAGE["description"]["maxLength"], validation.MAX_DESCRIPTION_CHARS),
    ("Image.size_bytes.maximum", IMAGE["size_bytes"]["maximum"], MAX_STORED_BYTES),
    ("DirectUpload.max_bytes.maximum", SCHEMAS["DirectUpload"]["properties"]["max_bytes"]["maximum"], MAX_STORED_BYTES),
    ("GET /images parameters", sorted(LIST_QUERY), sorted(validation.LIST_PARAMETERS)),
    ("GET /images limit.default", LIST_QUERY["limit"]["default"], validation.DEFAULT_PAGE_SIZE),
    ("GET /images limit.maximum", LIST_QUERY["limit"]["maximum"], validation.MAX_PAGE_SIZE),
    ("GET /images next_token.maxLength", LIST_QUERY["next_token"]["maxLength"], validation.MAX_NEXT_TOKEN_CHARS),
    ("ImagePage.items.maxItems", SCHEMAS["ImagePage"]["properties"]["items"]["maxItems"], validation.MAX_PAGE_SIZE),
    (
        "ImagePage.next_token.maxLength",
        SCHEMAS["ImagePage"]["properties"]["next_token"]["maxLength"],
        validation.MAX_NEXT_TOKEN_CHARS,
    ),
    (
        "DownloadUrl.expires_in.maximum",
        SCHEMAS["DownloadUrl"]["properties"]["expires_in"]["maximum"],
        MAX_DOWNLOAD_URL_TTL_SECONDS,
    ),
]


@pytest.mark.parametrize(("where", "in_spec", "in_code"), LIMITS, ids=[limit[0] for limit in LIMITS])
def test_limits_equal_the_codes_constants(where: str, in_spec: Any, in_code: Any) -> None:
    assert in_spec == in_code, f"{where} is {in_spec!r} in api/openapi.yaml but {in_code!r} in the code"


@pytest.mark.parametrize("name", ["UserId", "ImageId", "Tag"])
def test_length_bounds_agree_with_the_pattern(name: str) -> None:
    # minLength/maxLength repeat what the pattern says, for readers and generators: keep them true.
    schema = SCHEMAS[name]
    shortest = "0" * schema["minLength"]
    assert not schema_problems(shortest, schema)
    assert schema_problems("0" * (schema["maxLength"] + 1), {"pattern": schema["pattern"]})
    assert schema_problems(shortest[:-1], {"pattern": schema["pattern"]})


def _layer_error_codes() -> set[str]:
    """Every error code the layer can give: ``code="..."`` arguments and the exceptions' defaults."""
    defaults = {
        cls.__name__: cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ServiceError)
    }
    codes: set[str] = set()
    for module in (ROOT / "layers").glob("*/image_service/*.py"):  # the storage and imaging layers
        for node in ast.walk(ast.parse(module.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if (
                    keyword.arg == "code"
                    and isinstance(keyword.value, ast.Constant)
                    and isinstance(keyword.value.value, str)
                ):
                    codes.add(keyword.value.value)
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in defaults and not any(k.arg == "code" for k in node.keywords):
                codes.add(defaults[name])
    return codes


def _documented_codes(contract: Contract) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            code = node.get("properties", {}).get("code", {}) if isinstance(node.get("properties"), dict) else {}
            found.update(code.get("enum", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(contract.spec["paths"])
    walk(contract.spec["components"]["responses"])
    return found


def test_every_error_code_the_code_can_give_is_documented() -> None:
    undocumented = _layer_error_codes() - _documented_codes(CONTRACT)
    assert not undocumented, f"error codes missing from api/openapi.yaml: {sorted(undocumented)}"


def test_every_documented_error_code_exists() -> None:
    internal = {errors.ServiceError.code}  # the generic 500, given by http.api_handler
    known = _layer_error_codes() | internal | set(GATEWAY_ERRORS)
    phantom = _documented_codes(CONTRACT) - known
    assert not phantom, f"api/openapi.yaml documents codes nothing gives: {sorted(phantom)}"


def test_semantic_errors_are_documented_responses() -> None:
    for op in CONTRACT.operations:
        for status, code in op.semantic_errors:
            assert code in op.error_codes(status), f"{op.label}: x-semantic-errors names {status} {code}"


def _examples(node: Any, where: str = "") -> list[tuple[str, Any, dict[str, Any]]]:
    """(where, example value, schema) for every example in the spec."""
    found = []
    if isinstance(node, dict):
        schema = node.get("schema")
        if isinstance(schema, dict):
            for name, item in node.get("examples", {}).items():
                found.append((f"{where}/examples/{name}", item["value"], schema))
            if "example" in node:
                found.append((f"{where}/example", node["example"], schema))
        elif "example" in node and "type" in node:
            found.append((f"{where}/example", node["example"], node))
        for key, value in node.items():
            found += _examples(value, f"{where}/{key}")
    return found


EXAMPLES = _examples(CONTRACT.spec)


@pytest.mark.parametrize(("where", "value", "schema"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_conform_to_their_schemas(where: str, value: Any, schema: dict[str, Any]) -> None:
    assert not schema_problems(value, schema)


def test_the_upload_example_is_accepted_and_the_image_example_describes_it() -> None:
    op = CONTRACT.operation("POST", "/images")
    request = op.spec["requestBody"]["content"]["application/json"]["examples"]["png"]["value"]
    parsed = validation.parse_upload(json.dumps(request), max_image_bytes=DEFAULT_MAX_IMAGE_BYTES)
    image = CONTRACT.spec["components"]["examples"]["Image"]["value"]
    assert (image["size_bytes"], image["sha256"]) == (len(parsed.data), hashlib.sha256(parsed.data).hexdigest())
    assert (image["width"], image["height"], image["content_type"]) == (
        parsed.width,
        parsed.height,
        parsed.content_type,
    )
    assert (image["title"], image["tags"]) == (parsed.title, list(parsed.tags))


# -- the curl snippets ---------------------------------------------------------------------------

SNIPPETS = [
    (op, block)
    for op in CONTRACT.operations
    for block in re.findall(r"```bash\n(.*?)```", op.spec.get("description", ""), re.DOTALL)
]


def test_every_operation_has_a_curl_example() -> None:
    functions = {op.label for op in CONTRACT.operations if op.method != "OPTIONS"}
    assert {op.label for op, _ in SNIPPETS} == functions


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_examples_work_against_the_local_mode(contract_app: LocalApp, tmp_path: Path) -> None:
    (tmp_path / "sunset.png").write_bytes(picture("PNG"))
    image = requests.post(
        f"{contract_app.url}/images",
        json={"user_id": "alice", "content_type": "image/png", "image_base64": base64.b64encode(picture()).decode()},
        timeout=30,
    ).json()
    env = {**os.environ, "API": contract_app.url, "IMAGE_ID": image["image_id"]}
    # Each snippet's curl also prints the status and the headers, so the response can be checked.
    wrapper = 'curl() { command curl -D "$HEADERS" -w "\\n%{http_code}" "$@"; }\n'
    for op, block in sorted(SNIPPETS, key=lambda item: item[0].method == "DELETE"):  # DELETE last
        headers_file = tmp_path / "headers.txt"
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", wrapper + block],
            cwd=tmp_path,
            env={**env, "HEADERS": str(headers_file)},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, f"{op.label}: {run.stderr.decode()}"
        body, _, status = run.stdout.rpartition(b"\n")
        headers = dict(line.split(": ", 1) for line in headers_file.read_text().splitlines()[1:] if ": " in line)
        assert 200 <= int(status) < 300, f"{op.label}: {status.decode()} {body[:300]!r}"
        assert not CONTRACT.response_problems(op, int(status), headers, body)


def test_spec_has_no_duplicated_keys() -> None:
    """YAML readers keep the last of two equal keys silently; Swagger UI refuses the whole file."""
    import yaml

    duplicated: list[str] = []

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
            seen: set[object] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    duplicated.append(f"{key} (line {key_node.start_mark.line + 1})")
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    yaml.load((ROOT / "api" / "openapi.yaml").read_text(), Loader=StrictLoader)  # noqa: S506 - a SafeLoader
    assert not duplicated, f"api/openapi.yaml repeats keys: {duplicated}"
