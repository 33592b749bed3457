"""The local mode (``make serve``'s code) driven over HTTP, as the e2e suite and its neighbours use it.

``Api`` is a thin client whose every exchange is checked against api/openapi.yaml; ``ExternalApp``
stands for a server this suite did not start (``make test-sam-local``'s ``make sam-api``).
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

from localapi.app import TEMPLATE_PATH, LocalApp
from localapi.aws_backend import AwsEmulation, local_secrets
from localapi.template import Template
from tests.support.contract import assert_exchange_conforms
from tests.support.images import picture

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
        gateway = self.app.gateway if isinstance(self.app, LocalApp) else None  # None: a server started elsewhere
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


def fresh_session(api: Api) -> Api:
    """An ``Api`` with its own HTTP session: ``requests.Session`` is not meant to be shared by threads."""
    return Api(api.base_url, api.app)


# -- direct uploads and the emulation's storage


def start_upload(api: Api, user: str, **fields: Any) -> dict:
    """Announce a direct upload (``POST /images/uploads``): the image id and the pre-signed form."""
    body = {"user_id": user, "content_type": "image/jpeg", "title": "From my phone", **fields}
    response = api.request("POST", "/images/uploads", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def objects(api: Api, prefix: str) -> list[str]:
    """The keys under ``prefix`` in the emulation's images bucket."""
    _, s3 = api.app.aws.clients()
    bucket = api.app.template.bucket_names()[0]
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


# -- each function's own role (the local mode's IAM)


def clients_of(app: LocalApp, function: str) -> tuple[Any, Any]:
    """DynamoDB and S3 clients with the credentials ``function``'s worker runs with."""
    credentials = app.aws.function_credentials[function]
    options: dict[str, Any] = {
        "region_name": "us-east-1",
        "endpoint_url": app.aws.endpoint_url,
        "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": credentials["AWS_SESSION_TOKEN"],
        "config": Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 1}),
    }
    return boto3.client("dynamodb", **options), boto3.client("s3", **options)


def names(app: LocalApp) -> tuple[str, str, str]:
    """The images table, the tags table and the bucket of the local mode's template."""
    tables = [definition["TableName"] for definition in app.template.table_definitions()]
    images_table = next(name for name in tables if name.endswith("-images"))
    tags_table = next(name for name in tables if name.endswith("-image_tags"))
    return images_table, tags_table, app.template.bucket_names()[0]
