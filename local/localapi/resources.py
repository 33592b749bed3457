"""Create the template's tables and bucket in an AWS emulation (moto), from the template itself."""

from __future__ import annotations

from typing import Any

from .template import Template


def create_resources(template: Template, dynamodb: Any, s3: Any) -> None:
    """Create every table and bucket the template defines (idempotent)."""
    existing = set(dynamodb.list_tables().get("TableNames", []))
    for definition in template.table_definitions():
        if definition["TableName"] not in existing:
            dynamodb.create_table(**definition)
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
