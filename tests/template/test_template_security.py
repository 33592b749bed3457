"""The template's security properties that checkov (``make scan``) does not look at.

checkov checks each resource against its own catalogue; these tests pin the rules of this
project: TLS-only buckets, least-privilege function policies, no request bodies in API Gateway's
logs, bounded pre-signed URL lifetimes, logs that expire, and no check skipped without a reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.environment import ROOT, TEMPLATE

RESOURCES: dict[str, dict[str, Any]] = TEMPLATE.resources
PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE.body.get("Parameters", {})


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == kind}


BUCKETS = of_type("AWS::S3::Bucket")
FUNCTIONS = of_type("AWS::Serverless::Function")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def refers_to(value: Any, logical_id: str) -> bool:
    """True if ``value`` (a Ref, GetAtt or Sub) names ``logical_id``."""
    text = repr(value)
    return f"'{logical_id}'" in text or f"{{{logical_id}." in text or f"${{{logical_id}}}" in text


@pytest.mark.parametrize("bucket", sorted(BUCKETS))
def test_every_bucket_is_private_encrypted_and_tls_only(bucket: str) -> None:
    props = BUCKETS[bucket]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"][flag] is True for flag in (
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"
    ))  # fmt: skip
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs at all
    policies = [r for r in of_type("AWS::S3::BucketPolicy").values() if refers_to(r["Properties"]["Bucket"], bucket)]
    denies = [
        statement
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert denies, f"{bucket} has no TLS-only policy"
    assert denies[0]["Action"] == "s3:*" and denies[0]["Principal"] == "*"
    assert len(as_list(denies[0]["Resource"])) == 2  # the bucket and its objects


def test_the_images_bucket_logs_its_access_to_the_log_bucket() -> None:
    logging = RESOURCES["ImagesBucket"]["Properties"]["LoggingConfiguration"]
    assert refers_to(logging["DestinationBucketName"], "AccessLogsBucket")


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_function_policies_name_actions_and_resources_exactly(function: str) -> None:
    policies = FUNCTIONS[function]["Properties"].get("Policies", [])
    assert policies, f"{function} has no policy of its own"
    for policy in policies:
        # Inline statements only: no managed policy (e.g. AmazonS3FullAccess) or policy template.
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, policy
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{function}: wildcard action {action}"
            for resource in as_list(statement["Resource"]):
                assert resource != "*", f"{function}: a statement on every resource"
                assert "s3:::*" not in repr(resource) and "table/*" not in repr(resource)


def test_the_api_is_throttled_access_logged_and_never_logs_bodies() -> None:
    (api,) = of_type("AWS::Serverless::Api").values()
    props = api["Properties"]
    (settings,) = [s for s in props["MethodSettings"] if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"]
    assert 0 < settings["ThrottlingRateLimit"] <= 1000 and 0 < settings["ThrottlingBurstLimit"] <= 5000
    assert settings["DataTraceEnabled"] is False  # full request logging would write photos to CloudWatch
    assert refers_to(props["AccessLogSetting"]["DestinationArn"], "ApiAccessLogGroup")
    log_format = props["AccessLogSetting"]["Format"]
    assert "$context.requestId" in log_format and "$context.integration.requestId" in log_format
    assert "body" not in log_format.lower()


def test_pre_signed_url_lifetimes_and_upload_sizes_are_bounded() -> None:
    lifetimes = {name: spec for name, spec in PARAMETERS.items() if "Ttl" in name and "Url" in name}
    assert "DownloadUrlTtlSeconds" in lifetimes
    for name, spec in lifetimes.items():
        assert int(spec["MinValue"]) >= 1 and int(spec["MaxValue"]) <= 3600, name
        assert int(spec["Default"]) <= 900, name
    assert int(PARAMETERS["MaxImageBytes"]["MaxValue"]) <= 4_500_000


def test_every_log_group_expires_and_every_function_has_one() -> None:
    groups = of_type("AWS::Logs::LogGroup")
    for name, group in groups.items():
        assert group["Properties"].get("RetentionInDays"), f"{name} keeps logs forever"
    names = [repr(group["Properties"]["LogGroupName"]) for group in groups.values()]
    for function in FUNCTIONS:
        assert any(f"/aws/lambda/${{{function}}}" in name for name in names), f"{function} has no log group"


def test_tables_are_encrypted_and_recoverable() -> None:
    for name, table in of_type("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, name
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name


def test_every_skipped_security_check_says_why() -> None:
    skips = [
        (name, skip)
        for name, resource in RESOURCES.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert skip["id"].startswith("CKV"), (name, skip)
        assert len(skip.get("comment", "").split()) >= 12, f"{name}: {skip['id']} is skipped without a reason"
    # ... and nothing is skipped wholesale, away from the resources
    makefile = (ROOT / "Makefile").read_text()
    assert "checkov" in makefile and "--skip-check" not in makefile and "--soft-fail" not in makefile
    assert not (ROOT / ".checkov.yaml").exists() and not (ROOT / ".checkov.yml").exists()


def _statements(function: str) -> list[dict[str, Any]]:
    return [s for policy in FUNCTIONS[function]["Properties"].get("Policies", []) for s in policy["Statement"]]


def test_only_the_list_function_reads_the_cursor_key_and_only_that_secret() -> None:
    """The key is read at cold start (GetSecretValue), never resolved into an environment."""
    for name, function in FUNCTIONS.items():
        secret_statements = [
            s for s in _statements(name) if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))
        ]
        environment = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "resolve:secretsmanager" not in repr(environment), name
        if name != "ListFunction":
            assert not secret_statements, name
            continue
        assert environment["CURSOR_SECRET_ARN"] == {"Ref": "CursorSigningSecret"}
        assert secret_statements == [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "CursorSigningSecret"}}
        ]
    assert RESOURCES["CursorSigningSecret"]["Type"] == "AWS::SecretsManager::Secret"
    assert "resolve:secretsmanager" not in repr(TEMPLATE.body.get("Globals", {}))


def test_every_function_is_traced_with_x_ray() -> None:
    """Active tracing in Globals (SAM adds the X-Ray write permission to each role), none opting out."""
    assert TEMPLATE.body["Globals"]["Function"]["Tracing"] == "Active"
    assert all(function["Properties"].get("Tracing", "Active") == "Active" for function in FUNCTIONS.values())
    assert RESOURCES["ImageApi"]["Properties"]["TracingEnabled"] is True  # the trace starts at the API
