"""Duplicate uploads: the same user sending the same file again gets the photo already stored.

What "the same file" means. The SHA-256 of the bytes the service *received*, kept on the image
as ``received_sha256``. The recorded ``sha256`` stays what it always was, the checksum of the
stored bytes (what a download gives back, so a client can verify it); the two differ exactly
when location data was removed. A phone can compute the received checksum of its own file
before sending anything, which the stored one would not let it do; and the same photo uploaded
twice has the same received checksum whatever was stripped.

How it is found without a Scan. Image rows carry ``user_sha256`` = ``user_id#received_sha256``,
the key of the sparse ``user_sha256-index`` (only rows with a received checksum are in it): one
``Query`` finds a user's copies of a file, for the upload's check and for
``GET /images?user_id=U&sha256=HEX``.

Why a claim item too. A GSI is eventually consistent and two identical uploads at once (a phone
retrying without ``Idempotency-Key``, two devices syncing) would both see no copy and both store
one. So an upload that is not ``allow_duplicate`` also puts a *claim*, ``dup#user#sha256`` ->
image id, in the same transaction as the image, conditional on no live claim existing: of two
uploads at once exactly one commits, the other finds the claim, discards its objects and answers
the winner's photo. The claim only has to outlive the index's lag, so it expires after
``CLAIM_SECONDS`` (DynamoDB's TTL; readers check the time too, TTL deletes late) and lives in the
idempotency table, the upload function's table of short-lived request records, not among the
images. A claim whose photo was deleted since is stale: the next upload replaces it
(conditional on it still naming the deleted photo), so deleting a photo and uploading it again
works at once. ``allow_duplicate`` uploads neither check nor claim.

Direct uploads (``POST /images/uploads``) are not de-duplicated: the file arrives at S3 after
the API call has answered, and the finalisation that sees its bytes has nobody to answer.
Their received checksum is still recorded (the S3 object is hashed while it is read), so they
are found by the listing and a later upload of the same file through ``POST /images`` is
caught. A client that wants to avoid sending a large file twice asks first:
``GET /images?user_id=U&sha256=HEX``. Accepting a client-declared ``sha256`` up front was
rejected: the service could not hold the client to it (the bytes come later, maybe different).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .aws import translate_aws_errors
from .items import from_item, to_item

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

CLAIM_SECONDS = 24 * 3600


def claim_key(user_id: str, received_sha256: str) -> str:
    return f"dup#{user_id}#{received_sha256}"


class ChecksumClaims:
    """Claims in the idempotency table (partition key ``key``, TTL ``expires_at``)."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._dynamodb = dynamodb
        self.table_name = table_name

    def put_action(
        self, user_id: str, received_sha256: str, image_id: str, *, now: int, stale_holder: str | None = None
    ) -> TransactWriteItemTypeDef:
        """A transaction's ``Put`` of the claim: only if none is live (or the live one is the
        ``stale_holder``, a photo deleted since)."""
        condition = "attribute_not_exists(#key) OR expires_at <= :now"
        if stale_holder is not None:
            condition += " OR image_id = :stale"
        claim = {"key": claim_key(user_id, received_sha256), "image_id": image_id, "expires_at": now + CLAIM_SECONDS}
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(claim),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#key": "key"},
                "ExpressionAttributeValues": to_item({":now": now, ":stale": stale_holder}),
            }
        }

    def holder(self, user_id: str, received_sha256: str, *, now: int) -> str | None:
        """The image id of the live claim, or ``None``."""
        with translate_aws_errors("the idempotency table"):
            item = self._dynamodb.get_item(
                TableName=self.table_name,
                Key=to_item({"key": claim_key(user_id, received_sha256)}),
                ConsistentRead=True,
            ).get("Item")
        claim = from_item(item) if item is not None else None
        if claim is None or claim.get("expires_at", 0) <= now:
            return None
        return str(claim["image_id"])
