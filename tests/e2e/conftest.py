"""End-to-end fixtures: the local mode (``make serve``'s code) on a free port, driven over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from localapi.app import LocalApp
from tests.conftest import picture


class Api:
    """A thin HTTP client for the running local mode."""

    def __init__(self, base_url: str, app: LocalApp) -> None:
        self.base_url = base_url
        self.app = app
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.base_url + path, **kwargs)

    def upload(self, user_id: str = "alice", tags: list[str] | None = None, fmt: str = "PNG", **fields: Any) -> dict:
        body = {
            "user_id": user_id,
            "tags": tags or [],
            "content_type": f"image/{fmt.lower()}",
            "image_base64": base64.b64encode(picture(fmt)).decode(),
            **fields,
        }
        response = self.request("POST", "/images", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def list_all(self, **query: str) -> list[str]:
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
def local_app() -> Iterator[LocalApp]:
    app = LocalApp(port=0).start()
    yield app
    app.stop()


@pytest.fixture
def api(local_app: LocalApp) -> Api:
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
