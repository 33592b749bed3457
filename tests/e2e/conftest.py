"""End-to-end fixtures: the local mode (``make serve``'s code) on a free port, driven over HTTP."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localapi.app import TEMPLATE_PATH, LocalApp
from localapi.aws_backend import AwsEmulation, local_secrets
from localapi.template import Template
from tests.conftest import picture
from tests.contract.spec import assert_exchange_conforms

# `make test-sam-local` runs this same suite against `make sam-api` (the real SAM CLI): E2E_BASE_URL
# is that API, E2E_AWS_ENDPOINT the AWS emulation behind it.
EXTERNAL_BASE_URL = os.environ.get("E2E_BASE_URL", "").rstrip("/")
EXTERNAL_AWS_ENDPOINT = os.environ.get("E2E_AWS_ENDPOINT", "")


class ExternalApp:
    """What the suite uses of a LocalApp, for a server it did not start: its URL, template and emulation."""

    def __init__(self, url: str, aws_endpoint: str) -> None:
        if not aws_endpoint:
            raise RuntimeError("E2E_BASE_URL needs E2E_AWS_ENDPOINT (the AWS emulation behind that API)")
        self.url = url
        self.template = Template(TEMPLATE_PATH)
        # The secrets the server's functions use (tests forge signed tokens with them).
        secrets_file = os.environ.get("E2E_SECRETS_FILE")
        self.template.secrets = (
            json.loads(Path(secrets_file).read_text()) if secrets_file else local_secrets(self.template, None)
        )
        endpoint = urllib.parse.urlsplit(aws_endpoint)
        self.aws = AwsEmulation(self.template, host=endpoint.hostname or "", port=endpoint.port or 0)


class Api:
    """A thin HTTP client for the running local mode."""

    def __init__(self, base_url: str, app: LocalApp | ExternalApp) -> None:
        self.base_url = base_url
        self.app = app
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        response = self.http.request(method, self.base_url + path, **kwargs)
        # api/openapi.yaml is the contract of every exchange with the local mode; pages served
        # beside the API (/docs, the gallery) and its helpers (/_local/...) are not the API.
        gateway = getattr(self.app, "gateway", None)  # None: a server this suite did not start
        route = path.split("?", 1)[0]
        beside_the_api = route.startswith("/_local/") or (
            gateway is not None and method.upper() == "GET" and route in gateway.extra_routes
        )
        if gateway is not None and not beside_the_api:
            assert_exchange_conforms(response)
        return response

    def upload(self, user_id: str = "alice", tags: list[str] | None = None, fmt: str = "PNG", **fields: Any) -> dict:
        body = {
            "user_id": user_id,
            "tags": tags or [],
            "content_type": f"image/{fmt.lower()}",
            "image_base64": base64.b64encode(picture(fmt)).decode(),
            # Each call stores a photo, as its callers expect (the same picture every time).
            "allow_duplicate": True,
            **fields,
        }
        response = self.request("POST", "/images", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def list_all(self, pause: float = 0.0, **query: str) -> list[str]:
        """Every id of a listing, following next_token; ``pause`` seconds between pages."""
        ids: list[str] = []
        token = None
        while True:
            params = dict(query, **({"next_token": token} if token else {}))
            response = self.request("GET", "/images", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            ids += [item["image_id"] for item in page["items"]]
            token = page["next_token"]
            if not token:
                return ids
            time.sleep(pause)

    def storage(self) -> dict[str, Any]:
        """Every object key and table row in the emulation (to prove nothing changed)."""
        dynamodb, s3 = self.app.aws.clients()
        snapshot: dict[str, Any] = {}
        for name in self.app.template.bucket_names():
            snapshot[name] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", []))
        for definition in self.app.template.table_definitions():
            table = definition["TableName"]
            snapshot[table] = sorted(json.dumps(i, sort_keys=True) for i in dynamodb.scan(TableName=table)["Items"])
        return snapshot


@pytest.fixture(scope="session")
def local_app() -> Iterator[LocalApp | ExternalApp]:
    if EXTERNAL_BASE_URL:
        yield ExternalApp(EXTERNAL_BASE_URL, EXTERNAL_AWS_ENDPOINT)
        return
    app = LocalApp(port=0).start()
    yield app
    app.stop()


@pytest.fixture
def api(local_app: LocalApp | ExternalApp) -> Api:
    return Api(local_app.url, local_app)


@pytest.fixture
def user() -> str:
    """A user id of this test's own, so tests sharing one local mode never see each other's photos."""
    import uuid

    return f"u-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def tag() -> str:
    import uuid

    return f"t{uuid.uuid4().hex[:12]}"
