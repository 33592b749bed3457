"""The layer's inputs built for the tests: a new image, a Cognito-authorised event, a direct upload."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from localapi.events import build_proxy_event
from tests.support.functions import invoke
from tests.support.images import picture


def new_image(user_id: str = "alice", tags: tuple[str, ...] = (), title: str = "a photo") -> Any:
    from image_service.models import NewImage

    return NewImage(
        user_id=user_id,
        title=title,
        description="",
        tags=tags,
        content_type="image/png",
        width=32,
        height=24,
        data=picture(),
    )


def claims_event(method: str, resource: str, path: str, user: str = "alice", **kwargs: Any) -> dict[str, Any]:
    """A proxy event as API Gateway sends it after the Cognito authorizer accepted ``user``."""
    return build_proxy_event(
        method=method,
        resource=resource,
        path=path,
        authorizer={"claims": {"sub": user, "cognito:username": user, "token_use": "id"}},
        **kwargs,
    )


def start_direct_upload(aws: SimpleNamespace, user: str = "alice") -> tuple[str, dict[str, Any]]:
    """Announce a direct upload through the upload function, then put the file where the pre-signed
    POST would; returns the image id and the S3 event that announces the file."""
    body = {"user_id": user, "tags": ["cats"], "content_type": "image/png"}
    event = claims_event(
        "POST",
        "/images/uploads",
        "/images/uploads",
        user,
        headers={"Content-Type": ["application/json"]},
        body=json.dumps(body).encode(),
    )
    response = invoke("UploadFunction", event)
    assert response["statusCode"] == 201, response["body"]
    image_id = json.loads(response["body"])["image_id"]
    key = f"uploads/{image_id}"
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=picture(), ContentType="image/png")
    s3_event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Post",
                "s3": {"bucket": {"name": aws.bucket}, "object": {"key": key, "size": len(picture())}},
            }
        ]
    }
    return image_id, s3_event


def start_direct(service: Any, aws: SimpleNamespace, data: bytes, user: str = "alice") -> str:
    """Start a direct upload on the service itself and put ``data`` where the form would; the id."""
    from image_service.models import UploadRequest

    started = service.uploads.start_direct_upload(
        UploadRequest(user_id=user, title="t", description="", tags=("cats",), content_type="image/png")
    )
    aws.s3.put_object(Bucket=aws.bucket, Key=started["upload"]["fields"]["key"], Body=data)
    return str(started["image_id"])


def example_image(**changes: Any) -> Any:
    """An ``Image`` as the tables hold one, every field set (``changes`` replace some)."""

    from image_service.models import Image

    image = Image(
        image_id="01JDQ8ZB3F2T6X8W4N5R7K9M0Z",
        user_id="0b6f4a52",
        user_name="alice",
        title="Sunset",
        description="",
        tags=("sunset", "beach"),
        content_type="image/png",
        size_bytes=5120,
        sha256="a" * 64,
        width=32,
        height=24,
        created_at="2026-11-25T12:00:00.000Z",
        object_key="images/01JDQ8ZB3F2T6X8W4N5R7K9M0Z",
        variants=("original", "thumbnail", "display"),
        location_removed=True,
        received_sha256="b" * 64,
    )
    return image._replace(**changes)
