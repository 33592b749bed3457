"""`make deploy` publishes web/ to the stack's gallery bucket with the stack's API filled in
(scripts/publish_web.py), checked against moto's S3, CloudFront and CloudFormation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import publish_web
import pytest
from moto import mock_aws

from localapi.web import WEB_DIR, site_files

OUTPUTS = {
    "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/dev",
    "WebUrl": "https://d111111abcdef8.cloudfront.net/",
    "WebBucketName": "gallery-web",
    "UserPoolClientId": "client123",
    "UserPoolDomainUrl": "https://images-uuid.auth.us-east-1.amazoncognito.com",
}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        s3.create_bucket(Bucket="gallery-web")
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Comment": "gallery",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "web",
                            "DomainName": "gallery-web.s3.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "redirect-to-https"},
            }
        )["Distribution"]
        yield {"s3": s3, "cloudfront": cloudfront, "outputs": {**OUTPUTS, "WebDistributionId": distribution["Id"]}}


def test_publish_uploads_the_site_with_the_stacks_config_and_invalidates_the_cache(aws: dict[str, Any]) -> None:
    s3, cloudfront, outputs = aws["s3"], aws["cloudfront"], aws["outputs"]
    s3.put_object(Bucket="gallery-web", Key="web/js/removed-long-ago.js", Body=b"old")

    keys = publish_web.publish(s3, cloudfront, outputs)

    stored = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="gallery-web")["Contents"])
    assert stored == keys  # the stale file is gone
    expected = {"index.html", "config.json"} | {p.lstrip("/") for p in site_files() if p not in ("/", "/config.json")}
    assert set(keys) == expected and "web/js/main.js" in keys and "web/styles.css" in keys
    index = s3.get_object(Bucket="gallery-web", Key="index.html")
    assert index["ContentType"].startswith("text/html") and index["CacheControl"] == "no-cache"
    assert index["Body"].read() == (WEB_DIR / "index.html").read_bytes()
    script = s3.get_object(Bucket="gallery-web", Key="web/js/main.js")
    assert script["ContentType"].startswith("text/javascript")  # module scripts need a JS type

    config = json.loads(s3.get_object(Bucket="gallery-web", Key="config.json")["Body"].read())
    assert config == {
        "api_url": OUTPUTS["ApiUrl"],
        "auth_mode": "cognito",
        "cognito": {"domain": OUTPUTS["UserPoolDomainUrl"], "client_id": "client123"},
    }
    invalidations = cloudfront.list_invalidations(DistributionId=outputs["WebDistributionId"])["InvalidationList"]
    assert invalidations["Quantity"] == 1


def test_a_stack_in_the_open_mode_gets_an_open_page() -> None:
    outputs = {key: value for key, value in OUTPUTS.items() if not key.startswith("UserPool")}
    assert publish_web.config_for(outputs) == {"api_url": OUTPUTS["ApiUrl"], "auth_mode": "none"}


def test_a_private_gallery_tells_the_page_that_reads_need_a_token() -> None:
    private = publish_web.config_for(OUTPUTS, {"AuthMode": "cognito", "PublicReads": "false"})
    assert private["public_reads"] is False and private["auth_mode"] == "cognito"
    assert "public_reads" not in publish_web.config_for(OUTPUTS, {"AuthMode": "cognito", "PublicReads": "true"})


def test_outputs_and_parameters_come_from_the_deployed_stack_named_in_samconfig() -> None:
    defaults = publish_web.samconfig_defaults()
    assert defaults["stack_name"] == "image-service" and defaults["region"]
    template = {
        "Parameters": {"PublicReads": {"Type": "String", "Default": "true"}},
        "Resources": {"WebBucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {name: {"Value": value} for name, value in OUTPUTS.items()},
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(
            StackName="image-service",
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "PublicReads", "ParameterValue": "false"}],
        )
        outputs, parameters = publish_web.describe_stack(cloudformation, "image-service")
        assert outputs == OUTPUTS and parameters == {"PublicReads": "false"}
