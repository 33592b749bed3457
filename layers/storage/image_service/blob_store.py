"""Image bytes in the private S3 bucket."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .aws import error_code, translate_aws_errors
from .download_urls import DownloadUrls
from .errors import PayloadTooLarge, ServiceUnavailable
from .recent_urls import RecentUrls, SignedUrls

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

# Object keys never change content (a new upload gets a new id), so caches may keep them.
_CACHE_CONTROL = "private, max-age=31536000, immutable"


class ObjectMissing(Exception):
    """The object does not exist (read by a function that may list the bucket; else S3 says 403)."""


class BlobStore:
    def __init__(self, s3_client: S3Client, bucket_name: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket_name
        self._recent_urls = RecentUrls(DownloadUrls(s3_client, bucket_name).urls)

    def put(self, key: str, data: bytes, *, content_type: str, sha256_digest: bytes | None = None) -> None:
        """Store ``data``; S3 verifies the SHA-256 checksum and rejects a corrupted body."""
        digest = sha256_digest or hashlib.sha256(data).digest()
        with translate_aws_errors("image storage"):
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=_CACHE_CONTROL,
                ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
            )

    def delete(self, key: str) -> None:
        """Delete ``key``. Deleting a missing key succeeds, so retries are safe."""
        with translate_aws_errors("image storage"):
            self._s3.delete_object(Bucket=self._bucket, Key=key)

    def delete_many(self, keys: list[str]) -> None:
        """Delete several keys in one request; fails if any one could not be deleted."""
        if self.delete_many_reporting(keys):
            raise ServiceUnavailable("image storage could not delete every object, please retry")

    def delete_many_reporting(self, keys: list[str]) -> set[str]:
        """Delete several keys in one request; return the keys S3 says it could not delete."""
        with translate_aws_errors("image storage"):
            response = self._s3.delete_objects(
                Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
            )
        errors = response.get("Errors") or []
        failed = {str(error.get("Key", "")) for error in errors} & set(keys)
        # An error that names none of our keys says nothing about which ones remain: assume all.
        return failed or (set(keys) if errors else set())

    def read(self, key: str, *, max_bytes: int) -> tuple[bytes, bytes]:
        """The object's bytes and their SHA-256; refuses more than ``max_bytes`` before reading them.

        The body is read in one piece of the size S3 announces (botocore checks it got all of it):
        gathering 1 MB chunks and joining them held the object twice at the end (2.08x a 25 MB
        direct upload's bytes at the peak, against 1x). Without an announced size it is read in
        chunks, and refused as soon as it passes ``max_bytes``.
        """
        with translate_aws_errors("image storage"):
            try:
                response = self._s3.get_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    raise ObjectMissing(key) from exc
                raise
            body, size = response["Body"], response.get("ContentLength")
            if size is not None and size > max_bytes:
                body.close()
                raise PayloadTooLarge(f"the uploaded file is over {max_bytes} bytes")
            data = body.read() if size is not None else self._read_chunks(body, max_bytes)
        return data, hashlib.sha256(data).digest()

    @staticmethod
    def _read_chunks(body: Any, max_bytes: int) -> bytes:
        chunks = bytearray()
        for chunk in body.iter_chunks(chunk_size=1024 * 1024):
            chunks += chunk
            if len(chunks) > max_bytes:
                body.close()
                raise PayloadTooLarge(f"the uploaded file is over {max_bytes} bytes")
        return bytes(chunks)

    def presigned_post(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
        """A browser/curl upload form for exactly ``key``, this content type and size range.

        S3 enforces the policy, but the finaliser checks the stored object again anyway.
        """
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return {"url": post["url"], "fields": post["fields"], "expires_in": expires_in}

    def presigned_get_urls(self, keys: Sequence[str], *, expires_in: int) -> SignedUrls:
        """Time-limited GET URLs of ``keys``, in order, and how long they have left: signed locally,
        no request sent to S3 (download_urls says how), or given again while young (recent_urls)."""
        return self._recent_urls.urls(keys, expires_in=expires_in)
