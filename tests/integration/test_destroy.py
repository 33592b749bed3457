"""`make destroy` (scripts/destroy_stack.py) against moto: buckets emptied of every version, then the stack.

CloudFormation refuses to delete a bucket that holds anything, and the access-log bucket is
versioned: deleting its objects only adds delete markers. The script must remove every version
and marker, and retry when a late access log lands in the emptied bucket.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import WaiterError
from destroy_stack import destroy, empty_bucket, main
from moto import mock_aws

REGION = "eu-west-1"
STACK = "image-service-test"
# The stack's three buckets, as the template names them (logical ids), in a minimal template.
TEMPLATE = {
    "Resources": {
        "ImagesBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "images-test-0001"}},
        "WebBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "web-test-0001"}},
        "AccessLogsBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": "logs-test-0001", "VersioningConfiguration": {"Status": "Enabled"}},
        },
    }
}


@pytest.fixture
def deployed() -> Any:
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
        for key in ("images/a", "thumbnails/a.jpg", "uploads/b"):
            s3.put_object(Bucket="images-test-0001", Key=key, Body=b"x")
        s3.put_object(Bucket="web-test-0001", Key="index.html", Body=b"<html>")
        # (moto's CloudFormation does not apply VersioningConfiguration; S3 itself does.)
        s3.put_bucket_versioning(Bucket="logs-test-0001", VersioningConfiguration={"Status": "Enabled"})
        for i in range(3):  # three versions of one log, then a delete marker on top
            s3.put_object(Bucket="logs-test-0001", Key="images-bucket/log", Body=str(i).encode())
        s3.delete_object(Bucket="logs-test-0001", Key="images-bucket/log")
        s3.create_multipart_upload(Bucket="images-test-0001", Key="uploads/big")
        yield cloudformation, s3


def remaining(s3: Any, bucket: str) -> int:
    listed = s3.list_object_versions(Bucket=bucket)
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", [])) + len(uploads)


def test_emptying_removes_every_version_delete_marker_and_unfinished_upload(deployed: Any) -> None:
    _, s3 = deployed
    assert remaining(s3, "logs-test-0001") == 4  # deleting the object left all of it behind
    assert empty_bucket(s3, "logs-test-0001") == 4
    assert empty_bucket(s3, "images-test-0001") == 3
    assert remaining(s3, "logs-test-0001") == remaining(s3, "images-test-0001") == 0
    assert empty_bucket(s3, "no-such-bucket-here") == 0


def test_more_versions_than_one_request_takes_are_deleted_in_rounds(deployed: Any, monkeypatch: Any) -> None:
    _, s3 = deployed
    monkeypatch.setattr("destroy_stack.DELETE_BATCH", 2)  # S3's limit is 1,000 keys per request
    for i in range(4):
        s3.put_object(Bucket="web-test-0001", Key=f"f{i}", Body=b"")
    assert empty_bucket(s3, "web-test-0001") == 5
    assert remaining(s3, "web-test-0001") == 0


def test_destroy_empties_the_stacks_buckets_then_deletes_the_stack(deployed: Any) -> None:
    cloudformation, s3 = deployed
    said: list[str] = []
    destroy(cloudformation, s3, STACK, say=said.append)
    assert not any(s["StackStatus"] != "DELETE_COMPLETE" for s in cloudformation.list_stacks()["StackSummaries"])
    assert s3.list_buckets()["Buckets"] == []
    assert said[-1] == f"stack {STACK} deleted"


def test_a_log_that_lands_after_emptying_is_removed_on_the_next_attempt(deployed: Any, monkeypatch: Any) -> None:
    cloudformation, s3 = deployed
    real_delete = cloudformation.delete_stack
    calls: list[int] = []

    def late_log_then_delete(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # S3 delivers one more access log; CloudFormation's delete fails
            s3.put_object(Bucket="logs-test-0001", Key="images-bucket/late", Body=b"late")
            raise_waiter.append(True)
            return None
        return real_delete(**kwargs)

    raise_waiter: list[bool] = []
    real_waiter = cloudformation.get_waiter

    class Waiter:
        def wait(self, **kwargs: Any) -> None:
            if raise_waiter:
                raise_waiter.clear()
                raise WaiterError("StackDeleteComplete", "DELETE_FAILED", {})
            real_waiter("stack_delete_complete").wait(**kwargs)

    monkeypatch.setattr(cloudformation, "delete_stack", late_log_then_delete)
    monkeypatch.setattr(cloudformation, "get_waiter", lambda name: Waiter())
    destroy(cloudformation, s3, STACK, say=lambda _: None)
    assert len(calls) == 2
    assert s3.list_buckets()["Buckets"] == []


def test_nothing_is_deleted_without_the_stack_name_typed(deployed: Any, monkeypatch: Any) -> None:
    _, s3 = deployed
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert main(["--stack-name", STACK, "--region", REGION]) == 1
    assert remaining(s3, "images-test-0001") == 4
    monkeypatch.setattr("builtins.input", lambda prompt: STACK)
    monkeypatch.setattr("destroy_stack.destroy", lambda *a, **k: None)
    assert main(["--stack-name", STACK, "--region", REGION]) == 0
