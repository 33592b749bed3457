"""The local mode runs each function with only its own role's permissions (issue 16, item 1), and
checks pre-signed URLs and POST forms as S3 does (item 3).

Each function's worker gets the credentials of its role (from the template, SAM-translated) as
Lambda does; a call the role does not allow is refused with AWS's answer, and nothing changes.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.auth
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from localapi.app import LocalApp, function_environments
from localapi.functions import FunctionPool
from tests.support.environment import ROOT
from tests.support.images import phone_jpeg
from tests.support.local_mode import Api, clients_of, names, objects, start_upload


def error_of(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], error["Error"].get("Message", "")


@pytest.fixture
def stored(api: Api, user: str) -> dict[str, Any]:
    """A photo stored through the API (an item, its original and its thumbnail)."""
    return api.upload(user_id=user)


# -- item 1: each function's own role ------------------------------------------------------------


def test_each_role_allows_what_its_function_does(app: LocalApp, stored: dict[str, Any]) -> None:
    images_table, _, bucket = names(app)
    key = {"image_id": {"S": stored["image_id"]}}
    get_dynamodb, get_s3 = clients_of(app, "GetFunction")
    assert get_dynamodb.get_item(TableName=images_table, Key=key)["Item"]["image_id"] == key["image_id"]
    assert get_s3.get_object(Bucket=bucket, Key=f"thumbnails/{stored['image_id']}.jpg")["Body"].read()
    list_dynamodb, _ = clients_of(app, "ListFunction")
    found = list_dynamodb.query(
        TableName=images_table,
        IndexName="user_id-index",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": stored["user_id"]}},
    )
    assert [item["image_id"]["S"] for item in found["Items"]] == [stored["image_id"]]


def test_another_functions_role_is_denied(app: LocalApp, stored: dict[str, Any]) -> None:
    images_table, tags_table, bucket = names(app)
    key = {"image_id": {"S": stored["image_id"]}}
    before = clients_of(app, "GetFunction")[0].get_item(TableName=images_table, Key=key)["Item"]
    list_dynamodb, list_s3 = clients_of(app, "ListFunction")
    get_dynamodb, get_s3 = clients_of(app, "GetFunction")
    upload_dynamodb, _ = clients_of(app, "UploadFunction")
    _, delete_s3 = clients_of(app, "DeleteFunction")
    refused = [
        # GetFunction's work with ListFunction's role: no GetItem on the table.
        lambda: list_dynamodb.get_item(TableName=images_table, Key=key),
        # DeleteFunction's work with GetFunction's role.
        lambda: get_dynamodb.delete_item(TableName=images_table, Key=key),
        lambda: get_dynamodb.put_item(TableName=tags_table, Item={"tag": {"S": "x"}, "image_id": {"S": "y"}}),
        # ListFunction's work with UploadFunction's role: an index is a resource of its own.
        lambda: upload_dynamodb.query(
            TableName=images_table,
            IndexName="user_id-index",
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": {"S": stored["user_id"]}},
        ),
        # A table-scoped Allow on the index does not cover the table itself.
        lambda: list_dynamodb.query(
            TableName=images_table,
            KeyConditionExpression="image_id = :i",
            ExpressionAttributeValues={":i": key["image_id"]},
        ),
    ]
    for call in refused:
        status, code, message = error_of(call)
        assert (status, code) == (400, "AccessDeniedException"), message
        assert "is not authorized to perform: dynamodb:" in message and ":table/" in message
    for call in (
        lambda: list_s3.get_object(Bucket=bucket, Key=f"images/{stored['image_id']}"),  # thumbnails only
        lambda: get_s3.put_object(Bucket=bucket, Key=f"images/{stored['image_id']}", Body=b"x"),
        lambda: delete_s3.put_object(Bucket=bucket, Key=f"thumbnails/{stored['image_id']}.jpg", Body=b"x"),
    ):
        status, code, _ = error_of(call)
        assert (status, code) == (403, "AccessDenied")
    # Nothing changed.
    assert clients_of(app, "GetFunction")[0].get_item(TableName=images_table, Key=key)["Item"] == before
    assert objects_bytes(app, f"images/{stored['image_id']}") != b"x"


def objects_bytes(app: LocalApp, key: str) -> bytes:
    _, s3 = app.aws.clients()
    return bytes(s3.get_object(Bucket=app.template.bucket_names()[0], Key=key)["Body"].read())


def test_delete_function_may_not_head_an_object(app: LocalApp, stored: dict[str, Any]) -> None:
    """The audit's case: DeleteFunction has s3:DeleteObject only; HeadObject needs s3:GetObject."""
    bucket = names(app)[2]
    _, delete_s3 = clients_of(app, "DeleteFunction")
    status, code, _ = error_of(lambda: delete_s3.head_object(Bucket=bucket, Key=f"images/{stored['image_id']}"))
    assert (status, code) == (403, "403")  # a HEAD has no body: boto3 reports S3's status as the code
    status, code, message = error_of(lambda: delete_s3.get_object(Bucket=bucket, Key=f"images/{stored['image_id']}"))
    assert (status, code) == (403, "AccessDenied") and "DeleteFunction" in message


def test_swapped_role_fails_the_request_end_to_end(app: LocalApp, stored: dict[str, Any]) -> None:
    """GetFunction's code with ListFunction's role: the GetItem is refused, as it would be on Lambda."""
    event = json.loads((ROOT / "events" / "get.json").read_text())
    event["path"] = f"/images/{stored['image_id']}"
    event["pathParameters"] = {"image_id": stored["image_id"]}
    environments = function_environments(app.template, app.aws.endpoint_url, {}, app.aws.function_credentials)
    spec = app.template.function("GetFunction")
    results = {}
    for role in ("GetFunction", "ListFunction"):
        pool = FunctionPool(spec, {**environments["GetFunction"], **app.aws.function_credentials[role]})
        try:
            results[role] = pool.invoke(event).payload
        finally:
            pool.close()
    assert results["GetFunction"]["statusCode"] == 200
    assert results["ListFunction"]["statusCode"] >= 500


def test_delete_objects_deletes_only_the_keys_the_role_may_delete(app: LocalApp) -> None:
    _, _, bucket = names(app)
    _, admin_s3 = app.aws.clients()
    # Not under uploads/: the S3 event would have the upload function remove it.
    allowed, denied = f"images/iam-{uuid.uuid4().hex}", f"other/iam-{uuid.uuid4().hex}"
    for key in (allowed, denied):
        admin_s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    _, delete_s3 = clients_of(app, "DeleteFunction")
    response = delete_s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": allowed}, {"Key": denied}], "Quiet": False}
    )
    assert [entry["Key"] for entry in response.get("Deleted", [])] == [allowed]
    assert [(entry["Key"], entry["Code"]) for entry in response["Errors"]] == [(denied, "AccessDenied")]
    remaining = {o["Key"] for o in admin_s3.list_objects_v2(Bucket=bucket, Prefix="").get("Contents", [])}
    assert denied in remaining and allowed not in remaining
    admin_s3.delete_object(Bucket=bucket, Key=denied)


def test_a_wrong_secret_is_refused(app: LocalApp) -> None:
    images_table, _, bucket = names(app)
    credentials = dict(app.aws.function_credentials["GetFunction"])
    options: dict[str, Any] = {
        "region_name": "us-east-1",
        "endpoint_url": app.aws.endpoint_url,
        "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": "not-" + credentials["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": credentials["AWS_SESSION_TOKEN"],
        "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    }
    dynamodb, s3 = boto3.client("dynamodb", **options), boto3.client("s3", **options)
    status, code, _ = error_of(lambda: dynamodb.get_item(TableName=images_table, Key={"image_id": {"S": "x"}}))
    assert (status, code) == (400, "InvalidSignatureException")
    status, code, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="thumbnails/x"))
    assert (status, code) == (403, "SignatureDoesNotMatch")


# -- item 3: pre-signed forms and URLs -----------------------------------------------------------


def post_form(url: str, fields: dict[str, str], data: bytes, content_type: str = "image/jpeg") -> requests.Response:
    return requests.post(url, data=fields, files={"file": ("photo.jpg", data, content_type)}, timeout=60)


def xml_code(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/xml"), response.text
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


@pytest.fixture
def form(app: LocalApp, api: Api, user: str) -> Iterator[dict[str, Any]]:
    started = start_upload(api, user)
    yield started
    assert objects(api, f"uploads/{started['image_id']}") in ([], [f"uploads/{started['image_id']}"])


def assert_nothing_stored(api: Api, *keys: str) -> None:
    for key in keys:
        assert objects(api, key) == [], key


def test_form_for_another_key_is_refused(api: Api, form: dict[str, Any], stored: dict[str, Any]) -> None:
    """The audit's case: the form re-posted with another user's image key must not overwrite it."""
    upload = form["upload"]
    before = objects_bytes(api.app, f"images/{stored['image_id']}")
    for key in (f"images/{stored['image_id']}", f"uploads/{stored['image_id']}"):
        response = post_form(upload["url"], {**upload["fields"], "key": key}, phone_jpeg())
        assert response.status_code == 403 and xml_code(response) == "AccessDenied"
        assert "Policy Condition failed" in response.text
    assert objects_bytes(api.app, f"images/{stored['image_id']}") == before
    assert_nothing_stored(api, f"uploads/{stored['image_id']}", f"uploads/{form['image_id']}")


def test_form_with_another_content_type_is_refused(api: Api, form: dict[str, Any]) -> None:
    upload = form["upload"]
    response = post_form(upload["url"], {**upload["fields"], "Content-Type": "image/png"}, phone_jpeg())
    assert response.status_code == 403 and xml_code(response) == "AccessDenied"
    assert '["eq", "$Content-Type", "image/jpeg"]' in response.text
    assert_nothing_stored(api, f"uploads/{form['image_id']}")


def test_form_with_an_unsigned_extra_field_is_refused(api: Api, form: dict[str, Any]) -> None:
    upload = form["upload"]
    response = post_form(upload["url"], {**upload["fields"], "x-amz-meta-owner": "mallory"}, phone_jpeg())
    assert response.status_code == 403 and "Extra input fields: x-amz-meta-owner" in response.text
    assert_nothing_stored(api, f"uploads/{form['image_id']}")


def test_form_with_a_bad_signature_or_edited_policy_is_refused(api: Api, form: dict[str, Any]) -> None:
    upload = form["upload"]
    fields = upload["fields"]
    signature = fields["x-amz-signature"]
    forged = {**fields, "x-amz-signature": ("0" if signature[0] != "0" else "1") + signature[1:]}
    response = post_form(upload["url"], forged, phone_jpeg())
    assert response.status_code == 403 and xml_code(response) == "SignatureDoesNotMatch"
    # A policy edited to allow any key no longer matches its signature.
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if not (isinstance(c, dict) and "key" in c)]
    policy["conditions"].append(["starts-with", "$key", "images/"])
    edited = {**fields, "policy": base64.b64encode(json.dumps(policy).encode()).decode(), "key": "images/mine"}
    response = post_form(upload["url"], edited, phone_jpeg())
    assert response.status_code == 403 and xml_code(response) == "SignatureDoesNotMatch"
    assert_nothing_stored(api, f"uploads/{form['image_id']}", "images/mine")


def test_expired_form_is_refused(app: LocalApp, api: Api) -> None:
    _, upload_s3 = clients_of(app, "UploadFunction")
    key = f"uploads/iam-{uuid.uuid4().hex}"
    post = upload_s3.generate_presigned_post(
        Bucket=names(app)[2],
        Key=key,
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, 1000]],
        ExpiresIn=-60,  # its policy expired a minute ago
    )
    response = post_form(post["url"], post["fields"], b"\xff\xd8\xff")
    assert response.status_code == 403 and xml_code(response) == "AccessDenied"
    assert "Policy expired" in response.text
    assert_nothing_stored(api, key)


def test_form_signed_by_a_role_without_put_object_is_refused(app: LocalApp, api: Api) -> None:
    """A form acts with its signer's permissions: GetFunction may not write uploads/."""
    _, get_s3 = clients_of(app, "GetFunction")
    key = f"uploads/iam-{uuid.uuid4().hex}"
    post = get_s3.generate_presigned_post(Bucket=names(app)[2], Key=key, ExpiresIn=60)
    response = post_form(post["url"], post["fields"], b"\xff\xd8\xff")
    assert response.status_code == 403 and xml_code(response) == "AccessDenied"
    assert_nothing_stored(api, key)


def test_oversize_and_empty_files_get_s3s_errors(app: LocalApp, api: Api) -> None:
    _, upload_s3 = clients_of(app, "UploadFunction")
    key = f"uploads/iam-{uuid.uuid4().hex}"
    post = upload_s3.generate_presigned_post(
        Bucket=names(app)[2], Key=key, Conditions=[["content-length-range", 1, 1000]], ExpiresIn=60
    )
    response = post_form(post["url"], post["fields"], b"x" * 1001)
    assert response.status_code == 400 and xml_code(response) == "EntityTooLarge"
    assert "<MaxSizeAllowed>1000</MaxSizeAllowed>" in response.text
    response = post_form(post["url"], post["fields"], b"")
    assert response.status_code == 400 and xml_code(response) == "EntityTooSmall"
    assert_nothing_stored(api, key)
    assert post_form(post["url"], post["fields"], b"x" * 1000).status_code == 204  # the limit itself is fine
    app.aws.clients()[1].delete_object(Bucket=names(app)[2], Key=key)


def test_presigned_get_with_a_bad_signature_is_refused(api: Api, stored: dict[str, Any]) -> None:
    url = api.request("GET", f"/images/{stored['image_id']}/download").json()["url"]
    assert requests.get(url, timeout=10).status_code == 200
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    forged = url.replace(f"X-Amz-Signature={signature}", "X-Amz-Signature=" + signature[::-1])
    response = requests.get(forged, timeout=10)
    assert response.status_code == 403 and xml_code(response) == "SignatureDoesNotMatch"
    # Another key under the same signature is another request: refused too.
    other = url.replace(f"images/{stored['image_id']}", f"thumbnails/{stored['image_id']}.jpg")
    assert requests.get(other, timeout=10).status_code == 403


def test_expired_presigned_get_is_refused(
    app: LocalApp, stored: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, get_s3 = clients_of(app, "GetFunction")
    an_hour_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: an_hour_ago)
    url = get_s3.generate_presigned_url(
        "get_object", Params={"Bucket": names(app)[2], "Key": f"images/{stored['image_id']}"}, ExpiresIn=300
    )
    response = requests.get(url, timeout=10)
    assert response.status_code == 403 and xml_code(response) == "AccessDenied"
    assert "Request has expired" in response.text and "<X-Amz-Expires>300</X-Amz-Expires>" in response.text


def test_presigned_get_acts_with_the_signers_permissions(app: LocalApp, stored: dict[str, Any]) -> None:
    """ListFunction may sign thumbnails only; its URL for the original is refused."""
    _, list_s3 = clients_of(app, "ListFunction")
    bucket = names(app)[2]
    for key, status in ((f"thumbnails/{stored['image_id']}.jpg", 200), (f"images/{stored['image_id']}", 403)):
        url = list_s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
        assert requests.get(url, timeout=10).status_code == status, key


def test_only_the_list_functions_role_may_read_the_cursor_secret(app: LocalApp) -> None:
    secret_arn = app.template.function("ListFunction").environment["CURSOR_SECRET_ARN"]
    for function in ("ListFunction", "GetFunction", "UploadFunction", "DeleteFunction"):
        credentials = app.aws.function_credentials[function]
        secrets = boto3.client(
            "secretsmanager",
            region_name="us-east-1",
            endpoint_url=app.aws.endpoint_url,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        if function == "ListFunction":
            assert secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
        else:
            assert error_of(lambda s=secrets: s.get_secret_value(SecretId=secret_arn))[1] == "AccessDeniedException"


@pytest.mark.parametrize(("function", "allowed"), [("ListFunction", True), ("GetFunction", False)])
def test_the_layers_signed_secret_read_is_held_to_the_functions_role(
    app: LocalApp, monkeypatch: pytest.MonkeyPatch, function: str, allowed: bool
) -> None:
    """The list function's cold start reads its key without a boto3 client: the same role rules apply."""
    from image_service.config import Settings
    from image_service.secret_store import SecretUnavailable, read_secret

    secret_arn = app.template.function("ListFunction").environment["CURSOR_SECRET_ARN"]
    credentials = app.aws.function_credentials[function]
    role_session = boto3.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name="us-east-1",
    )
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", role_session)  # the session a function's clients use
    environment = app.template.function(function).environment
    settings = Settings.from_env({**environment, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": app.aws.endpoint_url})
    if allowed:
        assert read_secret(secret_arn, settings)
    else:
        with pytest.raises(SecretUnavailable, match="AccessDeniedException"):
            read_secret(secret_arn, settings)
