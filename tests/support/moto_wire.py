"""DynamoDB calls through moto's own WSGI app, in-process: what the local emulation's server runs,
without sockets, for tests that compare its answers with and without the local short paths."""

from __future__ import annotations

import json
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

HEADERS = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
    "Content-Type": "application/x-amz-json-1.0",
    "Host": "dynamodb.us-east-1.amazonaws.com",
}


def moto_client() -> Client:
    return Client(DomainDispatcherApplication(create_backend_app))


def call(client: Client, operation: str, body: dict[str, Any]) -> tuple[int, bytes]:
    """One DynamoDB call: the answer's status and its body, byte for byte."""
    response = client.post(
        "/", data=json.dumps(body), headers={**HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{operation}"}
    )
    return response.status_code, response.get_data()


def reset_dynamodb() -> None:
    for backends in dynamodb_backends.values():
        for backend in backends.values():
            backend.reset()
