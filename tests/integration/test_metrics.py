"""CloudWatch metrics (EMF): well-formed lines, the right dimensions, emitted where things happen,
and no user data in them."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.builders import start_direct_upload
from tests.support.emf import dimensions, emf_lines, values
from tests.support.functions import invoke
from tests.support.images import picture
from tests.support.layer import wire_handlers

TITLE = "Grandma's secret garden 93b1"


# -- through the handlers: each event where it happens, no user data ------------------------------


def _post(body: dict[str, Any] | bytes, content_type: str = "application/json") -> dict[str, Any]:
    from localapi.events import build_proxy_event

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return build_proxy_event(
        method="POST",
        resource="/images",
        path="/images",
        headers={"Content-Type": [content_type]},
        # A raw image body takes its metadata in the query (a JSON body may not have one). The
        # same picture as the JSON upload: stored again on purpose (a second Uploads metric).
        query={"user_id": ["metered"], "title": [TITLE], "allow_duplicate": ["true"]}
        if content_type.startswith("image/")
        else None,
        body=raw,
        authorizer={"claims": {"sub": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "cognito:username": "metered"}},
        binary_media_types=["image/png"],
    )


def test_handlers_publish_uploads_rejections_and_deletes_without_user_data(
    aws: SimpleNamespace, service: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from localapi.events import build_proxy_event

    wire_handlers(monkeypatch, service, "UploadFunction", "DeleteFunction", "ListFunction")
    capsys.readouterr()
    image = picture()
    body = {
        "user_id": "metered",
        "title": TITLE,
        "tags": ["privatetag"],
        "content_type": "image/png",
        "image_base64": base64.b64encode(image).decode(),
    }
    created = invoke("UploadFunction", _post(body))
    assert created["statusCode"] == 201, created["body"]
    image_id = json.loads(created["body"])["image_id"]
    raw = invoke("UploadFunction", _post(image, "image/png"))
    assert raw["statusCode"] == 201, raw["body"]
    assert invoke("UploadFunction", _post(b"{not json"))["statusCode"] == 400
    listing = {
        "httpMethod": "GET",
        "resource": "/images",
        "queryStringParameters": {"user_id": "x", "next_token": "a.b"},
    }
    assert invoke("ListFunction", listing)["statusCode"] == 400
    delete = build_proxy_event(
        method="DELETE",
        resource="/images/{image_id}",
        path=f"/images/{image_id}",
        path_parameters={"image_id": image_id},
        authorizer={"claims": {"sub": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "cognito:username": "metered"}},
    )
    assert invoke("DeleteFunction", delete)["statusCode"] == 204

    out = capsys.readouterr().out
    published = [(values(e), dimensions(e)) for e in emf_lines(out)]
    stack = os.environ["STACK_NAME"]
    assert published == [
        ({"Uploads": (1, "Count"), "BytesStored": (len(image), "Bytes")}, {"Stack": stack, "Path": "json"}),
        ({"Uploads": (1, "Count"), "BytesStored": (len(image), "Bytes")}, {"Stack": stack, "Path": "raw"}),
        ({"Rejections": (1, "Count")}, {"Stack": stack, "Code": "invalid_json"}),
        ({"Rejections": (1, "Count")}, {"Stack": stack, "Code": "invalid_next_token"}),
        ({"Deletes": (1, "Count")}, {"Stack": stack}),
    ]
    emf_text = "\n".join(line for line in out.splitlines() if '"_aws"' in line)
    # Not even the image id, which the logs may carry: a metric is an aggregate, never one photo.
    for private in ("metered", TITLE, "privatetag", image_id, base64.b64encode(image).decode()[:24]):
        assert private not in emf_text


def test_a_finalised_direct_upload_publishes_its_lag_and_a_refused_one_its_code(
    aws: SimpleNamespace, service: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wire_handlers(monkeypatch, service, "UploadFunction")
    _, event = start_direct_upload(aws)
    event["Records"][0]["eventTime"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    _, refused = start_direct_upload(aws)
    key = refused["Records"][0]["s3"]["object"]["key"]
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=b"not a picture", ContentType="image/png")
    capsys.readouterr()

    assert len(invoke("UploadFunction", event)["finalised"]) == 1
    assert invoke("UploadFunction", refused)["finalised"] == []

    finalised, rejected = emf_lines(capsys.readouterr().out)
    assert dimensions(finalised)["Path"] == "direct"
    assert values(finalised)["Uploads"] == (1, "Count") and values(finalised)["BytesStored"] == (
        len(picture()),
        "Bytes",
    )
    assert 1000 <= values(finalised)["FinalisationLag"][0] < 60_000
    assert values(rejected) == {"Rejections": (1, "Count")} and dimensions(rejected)["Code"].startswith("invalid_")
