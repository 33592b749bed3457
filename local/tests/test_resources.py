"""Tables kept from an earlier run (STATE_DIR) get the indexes the template added since."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
from moto import mock_aws

from localapi.resources import create_resources
from localapi.template import Template

ROOT = Path(__file__).resolve().parents[2]


def test_an_existing_table_gets_a_new_index_of_the_template() -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    template = Template(ROOT / "template.yaml")
    images = next(d for d in template.table_definitions() if d["TableName"].endswith("-images"))
    older = {
        **images,
        "GlobalSecondaryIndexes": [
            g for g in images["GlobalSecondaryIndexes"] if g["IndexName"] != "user_sha256-index"
        ],
        "AttributeDefinitions": [a for a in images["AttributeDefinitions"] if a["AttributeName"] != "user_sha256"],
    }
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**older)
        create_resources(
            template,
            dynamodb,
            boto3.client("s3", region_name="us-east-1"),
            boto3.client("secretsmanager", region_name="us-east-1"),
        )
        table = dynamodb.describe_table(TableName=images["TableName"])["Table"]
        assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == {"user_id-index", "user_sha256-index"}
        found = dynamodb.query(
            TableName=images["TableName"],
            IndexName="user_sha256-index",
            KeyConditionExpression="user_sha256 = :k",
            ExpressionAttributeValues={":k": {"S": "alice#0"}},
        )
        assert found["Items"] == []
