"""Image bytes in the private S3 bucket."""

from __future__ import annotations

import base64
from typing import Any

from .aws import translate_aws_errors

# Object keys never change content (a new upload gets a new id), so caches may keep them.
_CACHE_CONTROL = "private, max-age=31536000, immutable"


class BlobStore:
    def __init__(self, s3_client: Any, bucket_name: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket_name

    def put(self, key: str, data: bytes, *, content_type: str, sha256_digest: bytes) -> None:
        """Store ``data``; S3 verifies the SHA-256 checksum and rejects a corrupted body."""
        with translate_aws_errors("image storage"):
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=_CACHE_CONTROL,
                ChecksumSHA256=base64.b64encode(sha256_digest).decode("ascii"),
            )

    def delete(self, key: str) -> None:
        """Delete ``key``. Deleting a missing key succeeds, so retries are safe."""
        with translate_aws_errors("image storage"):
            self._s3.delete_object(Bucket=self._bucket, Key=key)

    def presigned_get_url(self, key: str, *, expires_in: int) -> str:
        """A time-limited GET URL. Signing is local: no request is sent to S3."""
        return str(
            self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
            )
        )
