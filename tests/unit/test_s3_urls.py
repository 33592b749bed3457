"""Pre-signed URLs and upload forms name the bucket's regional host (issue: regional S3 URLs).

botocore's default signs for the global host ``BUCKET.s3.amazonaws.com`` in every region, which
S3 redirects (307) for a new bucket outside us-east-1 and refuses in regions opened since March
2019. These tests read the real output of the clients the functions make, per region; signing is
local, so no request is sent anywhere (tests/unit/conftest.py refuses every connection).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from image_service.aws import make_clients
from image_service.blob_store import BlobStore
from image_service.config import Settings

BUCKET = "images-0f6a3c1e-8f1b-11ef-9a3b-0a1b2c3d4e5f"
# eu-west-1: an older region (the global host redirects); eu-south-2 and ap-east-1 opened after
# March 2019 (the global host is refused); us-east-1 is the global host's own region.
REGIONS = ["us-east-1", "eu-west-1", "eu-south-2", "ap-east-1"]


def store(region: str, endpoint_url: str | None = None) -> BlobStore:
    settings = Settings.from_env()._replace(region=region, endpoint_url=endpoint_url, bucket_name=BUCKET)
    _, s3 = make_clients(settings)
    return BlobStore(s3, BUCKET)


@pytest.mark.parametrize("region", REGIONS)
def test_download_urls_are_signed_for_the_regional_virtual_host(region: str) -> None:
    url = urlsplit(store(region).presigned_get_urls(["images/abc"], expires_in=300).urls[0])
    assert (url.scheme, url.netloc, url.path) == ("https", f"{BUCKET}.s3.{region}.amazonaws.com", "/images/abc")
    assert parse_qs(url.query)["X-Amz-Credential"][0].split("/")[2] == region


@pytest.mark.parametrize("region", REGIONS)
def test_upload_forms_post_to_the_regional_virtual_host(region: str) -> None:
    form = store(region).presigned_post("uploads/abc", content_type="image/jpeg", max_bytes=10, expires_in=900)
    assert form["url"] == f"https://{BUCKET}.s3.{region}.amazonaws.com/"
    assert form["fields"]["x-amz-credential"].split("/")[2] == region


def test_an_endpoint_override_keeps_path_style_urls_on_that_endpoint() -> None:
    """The local mode and moto: an IP or localhost has no per-bucket host names."""
    local = store("eu-west-1", endpoint_url="http://127.0.0.1:4566")
    url = urlsplit(local.presigned_get_urls(["images/abc"], expires_in=300).urls[0])
    assert (url.scheme, url.netloc, url.path) == ("http", "127.0.0.1:4566", f"/{BUCKET}/images/abc")
    form = local.presigned_post("uploads/abc", content_type="image/png", max_bytes=10, expires_in=900)
    assert form["url"] == f"http://127.0.0.1:4566/{BUCKET}"


def test_each_service_takes_its_own_endpoint_variable_first() -> None:
    """As every AWS SDK does: AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL. Passing the
    general one to both clients (as before) hid the per-service ones from botocore."""
    environment = {
        "S3_BUCKET_NAME": BUCKET,
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
    }
    dynamodb, s3 = make_clients(Settings.from_env(environment))
    assert dynamodb.meta.endpoint_url == "http://127.0.0.1:4566"
    assert s3.meta.endpoint_url == "http://127.0.0.1:9000"
    url = urlsplit(BlobStore(s3, BUCKET).presigned_get_urls(["images/abc"], expires_in=300).urls[0])
    assert (url.netloc, url.path) == ("127.0.0.1:9000", f"/{BUCKET}/images/abc")  # path style there
    deployed = make_clients(Settings.from_env({**environment, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}))
    assert deployed.dynamodb.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
    assert deployed.s3.meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"
