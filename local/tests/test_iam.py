"""IAM enforcement's parts: roles from SAM's translation, the moto internals it relies on (a
canary that fails when a moto upgrade changes them), S3's rules for POST policies, the switch."""

from __future__ import annotations

import importlib
import inspect
import json
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest

from localapi import moto_auth
from localapi.aws_backend import LOCAL_CREDENTIALS, AwsEmulation
from localapi.iam import function_roles, iam_enforced
from localapi.moto_auth import dynamodb_checks, s3_checks, secretsmanager_checks
from localapi.presign import S3Error, check_post_policy, check_presigned_url_times
from localapi.template import Template

ROOT = Path(__file__).resolve().parents[2]


# -- the canary: what moto_auth uses of moto -----------------------------------------------------


def test_moto_is_the_version_the_adapter_was_written_for() -> None:
    assert version("moto") == "5.2.5", "moto changed: check moto_auth.MOTO_INTERNALS, then update this pin"


@pytest.mark.parametrize("dotted", moto_auth.MOTO_INTERNALS)
def test_moto_internal_still_exists(dotted: str) -> None:
    module, _, name = dotted.rpartition(".")
    assert hasattr(importlib.import_module(module), name), dotted


def test_moto_internals_behave_as_the_adapter_expects() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult, create_access_key
    from moto.s3.responses import ACTION_MAP

    assert list(inspect.signature(create_access_key).parameters) == [
        "account_id",
        "partition",
        "access_key_id",
        "headers",
    ]
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
    policy = IAMPolicy(
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}]})
    )
    assert policy.is_action_permitted("dynamodb:GetItem", table) == PermissionResult.PERMITTED
    assert policy.is_action_permitted("dynamodb:GetItem", f"{table}/index/i") == PermissionResult.NEUTRAL
    assert policy.is_action_permitted("dynamodb:PutItem", table) == PermissionResult.NEUTRAL
    deny = IAMPolicy(json.dumps({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))
    assert deny.is_action_permitted("s3:GetObject", "arn:aws:s3:::b/k") == PermissionResult.DENIED
    assert policy._policy_json["Statement"][0]["Action"] == "dynamodb:GetItem"  # moto_auth edits it
    assert ACTION_MAP["KEY"]["HEAD"]["DEFAULT"] == "GetObject"
    assert ACTION_MAP["KEY"]["GET"]["DEFAULT"] == "GetObject"
    assert ACTION_MAP["KEY"]["PUT"]["DEFAULT"] == "PutObject"
    assert ACTION_MAP["KEY"]["DELETE"]["DEFAULT"] == "DeleteObject"
    assert ACTION_MAP["BUCKET"]["GET"]["DEFAULT"] == "ListBucket"


class _RoleSession:
    """What ``moto_auth.Principal`` reads of moto's access key: an ARN, credentials, policies."""

    def __init__(self, *policies: dict[str, object]) -> None:
        self.arn = "arn:aws:sts::123456789012:assumed-role/r/s"
        self.policies = [json.dumps(policy) for policy in policies]

    def create_credentials(self) -> object:
        return object()

    def collect_policies(self) -> list[str]:
        return self.policies


def test_a_principals_decisions_are_remembered_and_a_new_principal_reads_changed_policies() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
    allow = {"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": table}]}
    deny_put = {"Statement": [{"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": "*"}]}
    principal = moto_auth.Principal(_RoleSession(allow, deny_put))
    asked = [("dynamodb:GetItem", table), ("dynamodb:PutItem", table), ("dynamodb:GetItem", f"{table}/index/i")]
    first = [principal.allows(action, resource) for action, resource in asked]
    assert first == [True, False, False]
    assert [principal.allows(action, resource) for action, resource in asked] == first  # remembered, same
    # A call to IAM empties the principals (IamEnforcer._signed_request): the next one reads the new policy.
    changed = moto_auth.Principal(_RoleSession(allow))
    assert changed.allows("dynamodb:PutItem", table) is True


# -- what a request does in IAM's terms ----------------------------------------------------------


def test_dynamodb_calls_are_checked_on_tables_indexes_and_every_item() -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    query = json.dumps({"TableName": "a", "IndexName": "i"}).encode()
    assert dynamodb_checks("DynamoDB_20120810.Query", query) == [("dynamodb:Query", f"{arn}a/index/i")]
    assert dynamodb_checks("DynamoDB_20120810.GetItem", b'{"TableName": "a"}') == [("dynamodb:GetItem", f"{arn}a")]
    batch = json.dumps({"RequestItems": {"a": {}, "b": {}}}).encode()
    assert dynamodb_checks("DynamoDB_20120810.BatchGetItem", batch) == [
        ("dynamodb:BatchGetItem", f"{arn}a"),
        ("dynamodb:BatchGetItem", f"{arn}b"),
    ]
    transaction = json.dumps(
        {"TransactItems": [{"Put": {"TableName": "a"}}, {"ConditionCheck": {"TableName": "b"}}]}
    ).encode()
    assert dynamodb_checks("DynamoDB_20120810.TransactWriteItems", transaction) == [
        ("dynamodb:PutItem", f"{arn}a"),
        ("dynamodb:ConditionCheckItem", f"{arn}b"),
    ]


def test_s3_calls_are_checked_as_iam_actions() -> None:
    assert s3_checks("HEAD", "b", "k", set(), {}) == [("s3:GetObject", "arn:aws:s3:::b/k")]
    assert s3_checks("GET", "b", None, {"list-type"}, {}) == [("s3:ListBucket", "arn:aws:s3:::b")]
    assert s3_checks("PUT", "b", "k", set(), {"x-amz-copy-source": "/b/src%20key"}) == [
        ("s3:PutObject", "arn:aws:s3:::b/k"),
        ("s3:GetObject", "arn:aws:s3:::b/src key"),
    ]


def test_secrets_manager_calls_are_checked_on_the_secret_they_name() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stack-CursorSigningSecret"
    target = "secretsmanager.GetSecretValue"
    assert secretsmanager_checks(target, json.dumps({"SecretId": arn}).encode()) == [
        ("secretsmanager:GetSecretValue", arn)
    ]
    by_name = json.dumps({"SecretId": "stack-CursorSigningSecret"}).encode()
    assert secretsmanager_checks(target, by_name) == [("secretsmanager:GetSecretValue", arn)]
    assert secretsmanager_checks("secretsmanager.ListSecrets", b"{}") == [("secretsmanager:ListSecrets", "*")]


# -- roles from the template ---------------------------------------------------------------------


def test_roles_come_from_sams_translation_with_local_arns() -> None:
    template = Template(ROOT / "template.yaml")
    roles = {role.function: role for role in function_roles(template)}
    assert set(roles) == {"UploadFunction", "ListFunction", "GetFunction", "DeleteFunction"}
    statements = [s for document in roles["ListFunction"].policies.values() for s in document["Statement"]]
    resources = json.dumps([s.get("Resource") for s in statements])
    assert "arn:aws:dynamodb:us-east-1:123456789012:table/image-service-images/index/user_id-index" in resources
    assert f"arn:aws:s3:::{template.bucket_names()[0]}/thumbnails/*" in resources
    assert "AWSLambdaBasicExecutionRole" in roles["ListFunction"].policies  # SAM's managed policy, inlined


def test_sam_policy_templates_are_expanded(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        """
Transform: AWS::Serverless-2016-10-31
Resources:
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: app.handler
      Runtime: python3.11
      Policies:
        - DynamoDBReadPolicy: {TableName: !Ref Things}
        - S3CrudPolicy: {BucketName: !Ref Files}
  Things:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-things"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Files:
    Type: AWS::S3::Bucket
"""
    )
    (role,) = function_roles(Template(tmp_path / "template.yaml"))
    text = json.dumps(role.policies)
    assert "dynamodb:GetItem" in text and "arn:aws:dynamodb:us-east-1:123456789012:table/image-service-things" in text
    assert "s3:PutObject" in text and "arn:aws:s3:::image-service-files/*" in text


# -- S3's rules for forms and URLs ---------------------------------------------------------------

FIELDS = {"key": "uploads/a", "content-type": "image/jpeg", "x-amz-date": "20260101T000000Z"}
POLICY = {
    "expiration": "2100-01-01T00:00:00Z",  # not computed at import: the suite may run longer than any margin
    "conditions": [
        {"bucket": "b"},
        {"key": "uploads/a"},
        {"Content-Type": "image/jpeg"},
        {"x-amz-date": "20260101T000000Z"},
        ["content-length-range", 1, 10],
    ],
}


@pytest.mark.parametrize(
    ("fields", "bucket", "size", "status", "code"),
    [
        ({**FIELDS, "key": "images/b"}, "b", 5, 403, "AccessDenied"),
        ({**FIELDS, "content-type": "image/png"}, "b", 5, 403, "AccessDenied"),
        (FIELDS, "other-bucket", 5, 403, "AccessDenied"),
        (FIELDS, "b", 11, 400, "EntityTooLarge"),
        (FIELDS, "b", 0, 400, "EntityTooSmall"),
        ({**FIELDS, "acl": "public-read"}, "b", 5, 403, "AccessDenied"),
    ],
)
def test_post_policy_violations_are_refused_with_s3s_status_and_code(
    fields: dict[str, str], bucket: str, size: int, status: int, code: str
) -> None:
    with pytest.raises(S3Error) as caught:
        check_post_policy(POLICY, fields, bucket, size)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_post_policy_that_holds_and_one_that_expired() -> None:
    check_post_policy(POLICY, {**FIELDS, "x-ignore-me": "1"}, "b", 10)
    expired = {**POLICY, "expiration": "2020-01-01T00:00:00Z"}
    with pytest.raises(S3Error, match="Policy expired"):
        check_post_policy(expired, FIELDS, "b", 5)


def test_post_policy_starts_with_conditions_are_enforced() -> None:
    policy = {**POLICY, "conditions": [["starts-with", "$key", "uploads/"], ["starts-with", "$Content-Type", "image/"]]}
    check_post_policy(policy, {"key": "uploads/x", "content-type": "image/png"}, "b", 1)
    with pytest.raises(S3Error, match="Condition failed"):
        check_post_policy(policy, {"key": "images/x", "content-type": "image/png"}, "b", 1)


def test_presigned_url_is_refused_once_expired_or_valid_too_long() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    check_presigned_url_times({"X-Amz-Date": "20260101T115930Z", "X-Amz-Expires": "60"}, now)
    with pytest.raises(S3Error) as caught:
        check_presigned_url_times({"X-Amz-Date": "20260101T115800Z", "X-Amz-Expires": "60"}, now)
    assert (caught.value.status, caught.value.message) == (403, "Request has expired")
    with pytest.raises(S3Error) as caught:
        check_presigned_url_times({"X-Amz-Date": "20260101T115930Z", "X-Amz-Expires": "604801"}, now)
    assert caught.value.code == "AuthorizationQueryParametersError"


# -- the switch -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "enforced"), [(None, True), ("on", True), ("off", False), ("0", False)])
def test_local_iam_is_enforced_unless_switched_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, enforced: bool
) -> None:
    if value is None:
        monkeypatch.delenv("LOCAL_IAM", raising=False)
    else:
        monkeypatch.setenv("LOCAL_IAM", value)
    assert iam_enforced() is enforced


def test_switched_off_functions_get_the_developers_credentials() -> None:
    emulation = AwsEmulation(Template(ROOT / "template.yaml"), iam=False).start()
    try:
        assert emulation.function_credentials == {}
        assert emulation.credentials_for("GetFunction") == LOCAL_CREDENTIALS
    finally:
        emulation.stop()
