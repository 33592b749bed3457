"""The ``images`` table: image metadata, and the only place rows become ``Image`` objects.

Writes that touch metadata and tag rows go through one ``TransactWriteItems`` call, so a reader
never sees a tag row whose image is missing, nor an image whose tag rows are incomplete.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from .aws import error_code, translate_aws_errors
from .errors import ServiceUnavailable
from .models import Image, ImageEdit, UploadRequest
from .tag_index import TagIndex, query_newest_first

USER_INDEX = "user_id-index"
CHECKSUM_INDEX = "user_sha256-index"
PENDING = "pending"
REJECTED = "rejected"
_BATCH_GET_MAX_KEYS = 100
_BATCH_GET_MAX_ROUNDS = 5


def image_to_item(image: Image, version: int = 1) -> dict[str, Any]:
    return {
        "image_id": {"S": image.image_id},
        "user_id": {"S": image.user_id},
        "created_at": {"S": image.created_at},
        "title": {"S": image.title},
        "description": {"S": image.description},
        "tags": {"L": [{"S": tag} for tag in image.tags]},
        "content_type": {"S": image.content_type},
        "size_bytes": {"N": str(image.size_bytes)},
        "sha256": {"S": image.sha256},
        "width": {"N": str(image.width)},
        "height": {"N": str(image.height)},
        "object_key": {"S": image.object_key},
        "variants": {"L": [{"S": variant} for variant in image.variants]},
        "location_removed": {"BOOL": image.location_removed},
        "version": {"N": str(version)},
        **({"user_name": {"S": image.user_name}} if image.user_name else {}),
        **(
            {
                "received_sha256": {"S": image.received_sha256},
                "user_sha256": {"S": checksum_key(image.user_id, image.received_sha256)},
            }
            if image.received_sha256
            else {}
        ),
    }


def checksum_key(user_id: str, received_sha256: str) -> str:
    """The ``user_sha256-index`` key: one user's copies of one file."""
    return f"{user_id}#{received_sha256}"


def pending_to_item(image_id: str, request: UploadRequest, expires_at: int) -> dict[str, Any]:
    """A direct upload waiting for its object. No ``created_at``: the sparse ``user_id-index``
    leaves it out, so it never shows in a listing; ``expires_at`` lets DynamoDB's TTL remove it."""
    assert request.user_id is not None
    return {
        "image_id": {"S": image_id},
        "status": {"S": PENDING},
        "user_id": {"S": request.user_id},
        "title": {"S": request.title},
        "description": {"S": request.description},
        "tags": {"L": [{"S": tag} for tag in request.tags]},
        "content_type": {"S": request.content_type},
        "keep_location": {"BOOL": request.keep_location},
        "expires_at": {"N": str(expires_at)},
        "version": {"N": "1"},
        **({"user_name": {"S": request.user_name}} if request.user_name else {}),
    }


def item_to_pending(item: dict[str, Any]) -> UploadRequest:
    return UploadRequest(
        user_id=item["user_id"]["S"],
        title=item.get("title", {}).get("S", ""),
        description=item.get("description", {}).get("S", ""),
        tags=tuple(tag["S"] for tag in item.get("tags", {}).get("L", [])),
        content_type=item["content_type"]["S"],
        keep_location=item.get("keep_location", {}).get("BOOL", False),
        user_name=item.get("user_name", {}).get("S"),
    )


def item_to_image(item: dict[str, Any]) -> Image:
    return Image(
        image_id=item["image_id"]["S"],
        user_id=item["user_id"]["S"],
        created_at=item["created_at"]["S"],
        title=item.get("title", {}).get("S", ""),
        description=item.get("description", {}).get("S", ""),
        tags=tuple(tag["S"] for tag in item.get("tags", {}).get("L", [])),
        content_type=item["content_type"]["S"],
        size_bytes=int(item["size_bytes"]["N"]),
        sha256=item["sha256"]["S"],
        width=int(item.get("width", {}).get("N", "0")),
        height=int(item.get("height", {}).get("N", "0")),
        object_key=item["object_key"]["S"],
        variants=tuple(v["S"] for v in item.get("variants", {}).get("L", [{"S": "original"}])),
        location_removed=item.get("location_removed", {}).get("BOOL", False),
        user_name=item.get("user_name", {}).get("S"),
        received_sha256=item.get("received_sha256", {}).get("S"),
    )


class Rejection(NamedTuple):
    """Why the service refused a direct upload: the error it would have answered."""

    code: str
    message: str


def _write_condition(version: int, owner: str | None) -> dict[str, Any]:
    """Condition for changing an image: it exists, is at ``version`` and belongs to ``owner``."""
    expression = "attribute_exists(image_id) AND #version = :version"
    names = {"#version": "version"}
    values: dict[str, Any] = {":version": {"N": str(version)}}
    if owner is not None:
        expression += " AND #owner = :owner"
        names["#owner"] = "user_id"
        values[":owner"] = {"S": owner}
    return {"ConditionExpression": expression, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}


def _condition_failed(exc: ClientError) -> bool:
    """True if a transaction was cancelled because one of its conditions did not hold."""
    if error_code(exc) == "ConditionalCheckFailedException":
        return True
    if error_code(exc) != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons", [])
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


class ImagesRepository:
    def __init__(self, dynamodb_client: Any, table_name: str, tag_index: TagIndex) -> None:
        self._dynamodb = dynamodb_client
        self.table_name = table_name
        self._tags = tag_index

    def add(self, image: Image, *, version: int = 1, also: tuple[dict[str, Any], ...] = ()) -> bool:
        """Write ``image`` and its tag rows together; fail if the id already exists.

        ``also``: more conditional actions of the same transaction (a checksum claim). Returns
        False if a condition failed (the id is new, so that is one of them); True once written.
        """
        put_image = {
            "Put": {
                "TableName": self.table_name,
                "Item": image_to_item(image, version),
                "ConditionExpression": "attribute_not_exists(image_id)",
            }
        }
        actions = [put_image, *self._tags.put_actions(image), *also]
        if not also:
            with translate_aws_errors("the image table"):
                self._dynamodb.transact_write_items(TransactItems=actions)
            return True
        return self._transact(actions)

    def get(self, image_id: str, *, consistent: bool = False) -> tuple[Image, int] | None:
        """The image and its row version, or ``None``."""
        found = self.read(image_id, consistent=consistent)
        return found if isinstance(found, tuple) else None

    def read(self, image_id: str, *, consistent: bool = False) -> tuple[Image, int] | str | None:
        """The image and its row version; ``PENDING`` for a direct upload not finalised yet (not
        an image); ``None`` when the id has no row at all."""
        with translate_aws_errors("the image table"):
            response = self._dynamodb.get_item(
                TableName=self.table_name, Key={"image_id": {"S": image_id}}, ConsistentRead=consistent
            )
        item = response.get("Item")
        if item is None:
            return None
        if "status" in item:
            return PENDING
        return item_to_image(item), int(item.get("version", {}).get("N", "1"))

    def get_image_or_rejection(self, image_id: str, *, now: int) -> tuple[Image, int] | Rejection | None:
        """The image and its row version (as ``get``); or why a direct upload with this id was
        refused (until ``now`` passes its ``expires_at``); or ``None``. One read, as ``get``: a
        404 costs no more than before."""
        with translate_aws_errors("the image table"):
            item = self._dynamodb.get_item(TableName=self.table_name, Key={"image_id": {"S": image_id}}).get("Item")
        if item is None:
            return None
        status = item.get("status", {}).get("S")
        if status is None:
            return item_to_image(item), int(item.get("version", {}).get("N", "1"))
        # DynamoDB's TTL deletes up to days late: an expired row is already gone for readers.
        if status == REJECTED and int(item.get("expires_at", {}).get("N", "0")) > now:
            return Rejection(item["code"]["S"], item["message"]["S"])
        return None

    def add_pending(self, image_id: str, request: UploadRequest, expires_at: int) -> None:
        with translate_aws_errors("the image table"):
            self._dynamodb.put_item(
                TableName=self.table_name,
                Item=pending_to_item(image_id, request, expires_at),
                ConditionExpression="attribute_not_exists(image_id)",
            )

    def get_pending(self, image_id: str) -> UploadRequest | None:
        with translate_aws_errors("the image table"):
            item = self._dynamodb.get_item(
                TableName=self.table_name, Key={"image_id": {"S": image_id}}, ConsistentRead=True
            ).get("Item")
        if item is None or item.get("status", {}).get("S") != PENDING:
            return None
        return item_to_pending(item)

    def finalise(self, image: Image) -> bool:
        """Turn a pending row into ``image`` and write its tag rows, together; False if it was
        not pending any more (S3 may deliver an event twice)."""
        put_image = {
            "Put": {
                "TableName": self.table_name,
                "Item": image_to_item(image),
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":pending": {"S": PENDING}},
            }
        }
        return self._transact([put_image, *self._tags.put_actions(image)])

    def reject_pending(self, image_id: str, code: str, message: str, expires_at: int) -> None:
        """Replace a pending row by the reason it was refused, kept until ``expires_at`` (TTL) so
        that ``GET /images/{id}`` can say why. Like a pending row it has no ``created_at`` and no
        tag rows: no listing shows it. Only a pending row is replaced (never a finalised image)."""
        try:
            with translate_aws_errors("the image table"):
                self._dynamodb.put_item(
                    TableName=self.table_name,
                    Item={
                        "image_id": {"S": image_id},
                        "status": {"S": REJECTED},
                        "code": {"S": code},
                        "message": {"S": message},
                        "expires_at": {"N": str(expires_at)},
                    },
                    ConditionExpression="#status = :pending",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":pending": {"S": PENDING}},
                )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def remove(self, image: Image, version: int, *, owner: str | None) -> bool:
        """Delete ``image`` and its tag rows if it is still at ``version`` (and owned by ``owner``).

        Returns False when the condition fails (gone, changed, or someone else's): the caller
        reads again to tell 404, 403 and "try again" apart. The decision itself is atomic.
        """
        condition = _write_condition(version, owner)
        delete_image = {
            "Delete": {"TableName": self.table_name, "Key": {"image_id": {"S": image.image_id}}, **condition}
        }
        return self._transact([delete_image, *self._tags.delete_actions(image.image_id, image.tags)])

    def update(self, image: Image, version: int, edit: ImageEdit, *, owner: str | None) -> Image | None:
        """Apply ``edit`` to metadata and tag rows in one transaction; ``None`` if the condition fails."""
        updated = replace(
            image,
            title=image.title if edit.title is None else edit.title,
            description=image.description if edit.description is None else edit.description,
            tags=image.tags if edit.tags is None else edit.tags,
        )
        condition = _write_condition(version, owner)
        condition["ExpressionAttributeNames"].update(
            {"#title": "title", "#description": "description", "#tags": "tags"}
        )
        condition["ExpressionAttributeValues"].update(
            {
                ":title": {"S": updated.title},
                ":description": {"S": updated.description},
                ":tags": {"L": [{"S": tag} for tag in updated.tags]},
                ":next": {"N": str(version + 1)},
            }
        )
        update_image = {
            "Update": {
                "TableName": self.table_name,
                "Key": {"image_id": {"S": image.image_id}},
                "UpdateExpression": "SET #title = :title, #description = :description, #tags = :tags, #version = :next",
                **condition,
            }
        }
        removed = tuple(tag for tag in image.tags if tag not in updated.tags)
        # Every row the image keeps or gains is (re)written: each carries the listed fields.
        actions = [update_image, *self._tags.delete_actions(image.image_id, removed), *self._tags.put_actions(updated)]
        return updated if self._transact(actions) else None

    def _transact(self, actions: list[dict[str, Any]]) -> bool:
        try:
            with translate_aws_errors("the image table"):
                self._dynamodb.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def newest_for_user(self, user_id: str, *, limit: int, after: dict[str, str] | None) -> tuple[list[Image], bool]:
        """Up to ``limit`` of ``user_id``'s images, newest first, and whether more exist."""
        start = None
        if after is not None:
            start = {
                "user_id": {"S": user_id},
                "created_at": {"S": after["created_at"]},
                "image_id": {"S": after["image_id"]},
            }
        params = {
            "IndexName": USER_INDEX,
            "KeyConditionExpression": "user_id = :user_id",
            "ExpressionAttributeValues": {":user_id": {"S": user_id}},
        }
        rows = query_newest_first(self._dynamodb, self.table_name, params, limit + 1, start)
        return [item_to_image(row) for row in rows[:limit]], len(rows) > limit

    def with_checksum(
        self, user_id: str, received_sha256: str, *, limit: int, after: dict[str, str] | None = None
    ) -> tuple[list[Image], bool]:
        """Up to ``limit`` of ``user_id``'s images of that received file, newest first, and
        whether more exist (``user_sha256-index``; eventually consistent, like every GSI)."""
        key = checksum_key(user_id, received_sha256)
        start = None
        if after is not None:
            start = {
                "user_sha256": {"S": key},
                "created_at": {"S": after["created_at"]},
                "image_id": {"S": after["image_id"]},
            }
        params = {
            "IndexName": CHECKSUM_INDEX,
            "KeyConditionExpression": "user_sha256 = :key",
            "ExpressionAttributeValues": {":key": {"S": key}},
        }
        rows = query_newest_first(self._dynamodb, self.table_name, params, limit + 1, start)
        return [item_to_image(row) for row in rows[:limit]], len(rows) > limit

    def from_tag_rows(self, rows: list[dict[str, Any]]) -> list[Image]:
        """The images of ``rows`` (tag rows), in their order.

        A row carries the image's listed fields, so no read is needed. Rows written before they
        did (keys only) are completed with one ``BatchGetItem``; an image deleted meanwhile is
        left out.
        """
        bare = [row["image_id"]["S"] for row in rows if "object_key" not in row]
        found = self.get_many(bare) if bare else {}
        images = []
        for row in rows:
            image = item_to_image(row) if "object_key" in row else found.get(row["image_id"]["S"])
            if image is not None:
                images.append(image)
        return images

    def get_many(self, image_ids: list[str]) -> dict[str, Image]:
        """The images among ``image_ids`` that exist, by id (``BatchGetItem``)."""
        found: dict[str, Image] = {}
        for offset in range(0, len(image_ids), _BATCH_GET_MAX_KEYS):
            chunk = image_ids[offset : offset + _BATCH_GET_MAX_KEYS]
            request = {self.table_name: {"Keys": [{"image_id": {"S": image_id}} for image_id in chunk]}}
            for round_number in range(_BATCH_GET_MAX_ROUNDS):
                with translate_aws_errors("the image table"):
                    response = self._dynamodb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    image = item_to_image(item)
                    found[image.image_id] = image
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.02 * 2**round_number)  # throttled: back off before asking for the rest
            else:
                raise ServiceUnavailable("the image table is busy, please retry")
        return found
