"""What in an error response would reveal an internal detail (stack traces, paths, AWS names)."""

from __future__ import annotations

import re
from typing import Any

from tests.support.environment import ROOT

# Words that only an internal detail would put in a response. Matched case-sensitively.
INTERNAL_MARKERS = (
    "Traceback",
    "botocore",
    "boto3",
    "image_service",
    "site-packages",
    "arn:aws",
    "Exception",
    "Error:",
    "ClientError",
    "KeyError",
    "ValueError",
    "TypeError",
    "AttributeError",
    "ServiceUnavailable",
    "BadRequest",
    "ResourceNotFound",
    "ProvisionedThroughput",
    "CancellationReasons",
    "AccessDenied",
    "injected fault",  # the text of the AWS error responses the fault tests inject
    "object_key",
    "images/",
    "thumbnails/",
    "displays/",
    "uploads/",
)
FILE_LINE = re.compile(r'File "[^"]+", line \d+|\.py\b')


def leaks_in(text: str, internal_names: list[str]) -> list[str]:
    """What in ``text`` (a response body) reveals an internal detail; empty if nothing does."""
    # A size error names the public route for bigger photos; that "images/" is no object key.
    text = text.replace("POST /images/uploads", "POST <route>")
    found = [marker for marker in INTERNAL_MARKERS if marker in text]
    found += [name for name in internal_names if name and name in text]
    found += FILE_LINE.findall(text)
    found += [str(ROOT)] if str(ROOT) in text else []
    return found


def internal_names(environment: dict[str, str]) -> list[str]:
    return [environment.get(name, "") for name in ("S3_BUCKET_NAME", "IMAGES_TABLE_NAME", "IMAGE_TAGS_TABLE_NAME")]


def resource_names(template: Any) -> list[str]:
    """The physical names of every bucket and table of a (local mode's) template."""
    return [*template.bucket_names(), *(d["TableName"] for d in template.table_definitions())]
