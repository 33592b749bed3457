"""Integration fixtures: a fresh moto account with the template's tables, bucket and secret, and the
layer's use cases wired to it.

Tables and the bucket are created from ``template.yaml`` itself (through the local mode's template
reader), so the tests can never drift from the deployed schema.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localapi.resources import create_resources
from tests.support.environment import TEMPLATE
from tests.support.layer import Layer, build_layer
from tests.support.storage import storage_snapshot


@pytest.fixture
def aws() -> Iterator[SimpleNamespace]:
    """A fresh moto account with the template's tables and bucket."""
    from image_service.aws import make_clients
    from image_service.config import Settings

    with mock_aws():
        dynamodb, s3 = make_clients(Settings.from_env())
        secretsmanager = boto3.client("secretsmanager", region_name=os.environ["AWS_DEFAULT_REGION"])
        create_resources(TEMPLATE, dynamodb, s3, secretsmanager)
        yield SimpleNamespace(
            dynamodb=dynamodb,
            s3=s3,
            secretsmanager=secretsmanager,
            bucket=os.environ["S3_BUCKET_NAME"],
            images_table=os.environ["IMAGES_TABLE_NAME"],
            tags_table=os.environ["IMAGE_TAGS_TABLE_NAME"],
        )


@pytest.fixture
def snapshot(aws: SimpleNamespace) -> Callable[[], dict[str, Any]]:
    return lambda: storage_snapshot(aws)


@pytest.fixture
def service(aws: SimpleNamespace) -> Layer:
    """The layer's use cases wired to the moto clients."""
    from image_service.aws import Clients
    from image_service.config import Settings
    from image_service.secret_store import with_cursor_secret

    settings = with_cursor_secret(Settings.from_env(), aws.secretsmanager)  # as the list function does
    return build_layer(settings, Clients(aws.dynamodb, aws.s3))
