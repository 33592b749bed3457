"""Create the template's tables, bucket and secrets in an AWS emulation (moto), from the template itself."""

from __future__ import annotations

import secrets
from typing import Any

from .template import Template


def create_resources(template: Template, dynamodb: Any, s3: Any, secretsmanager: Any) -> None:
    """Create every table, bucket and secret the template defines (idempotent)."""
    create_secrets(template, secretsmanager)
    create_tables(template, dynamodb)
    create_buckets(template, s3)


def create_tables(template: Template, dynamodb: Any) -> None:
    existing = set(dynamodb.list_tables().get("TableNames", []))
    for definition in template.table_definitions():
        if definition["TableName"] not in existing:
            dynamodb.create_table(**definition)
        else:
            add_missing_indexes(dynamodb, definition)


def create_buckets(template: Template, s3: Any) -> None:
    buckets = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for name in template.bucket_names():
        if name in buckets:
            continue
        s3.create_bucket(Bucket=name)
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )


def add_missing_indexes(dynamodb: Any, definition: dict[str, Any]) -> None:
    """Add the template's GSIs a table kept from an earlier run (STATE_DIR) does not have yet, as
    a CloudFormation update would; without them a query on a new index fails."""
    described = dynamodb.describe_table(TableName=definition["TableName"])["Table"]
    present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    for index in definition.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in present:
            continue
        names = {part["AttributeName"] for part in index["KeySchema"]}
        dynamodb.update_table(
            TableName=definition["TableName"],
            AttributeDefinitions=[a for a in definition["AttributeDefinitions"] if a["AttributeName"] in names],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )


def create_secrets(template: Template, secretsmanager: Any) -> None:
    """Create the template's Secrets Manager secrets, as CloudFormation would (idempotent).

    The values are the template's ``secrets`` (random per emulation, or kept in STATE_DIR by
    ``aws_backend.local_secrets``); a secret with no value yet gets a random one, recorded there
    so that callers who must know it (tests forging tokens) can read it back.
    """
    existing = {entry["Name"] for entry in secretsmanager.list_secrets().get("SecretList", [])}
    for logical_id in template.secret_ids():
        value = template.secrets.setdefault(logical_id, secrets.token_urlsafe(36))
        name = template.secret_name(logical_id)
        if name in existing:
            secretsmanager.put_secret_value(SecretId=name, SecretString=value)
        else:
            secretsmanager.create_secret(Name=name, SecretString=value)
