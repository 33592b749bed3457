"""The ``images`` table: image metadata (its rows are mapped to ``Image`` objects in ``items``).

Writes that touch metadata and tag rows go through one ``TransactWriteItems`` call, so a reader
never sees a tag row whose image is missing, nor an image whose tag rows are incomplete.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

from .aws import error_code, translate_aws_errors
from .errors import ServiceUnavailable
from .items import (
    PENDING,
    REJECTED,
    Condition,
    Item,
    checksum_key,
    condition,
    from_item,
    image_to_item,
    item_to_image,
    item_to_pending,
    pending_to_item,
    rejected_to_item,
    status_of,
    to_item,
    version_of,
)
from .models import Image, ImageEdit, UploadRequest
from .tag_index import TagIndex, query_newest_first

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodb.type_defs import (
        KeysAndAttributesOutputTypeDef,
        KeysAndAttributesTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
    )

USER_INDEX = "user_id-index"
CHECKSUM_INDEX = "user_sha256-index"
_BATCH_GET_MAX_KEYS = 100
_BATCH_GET_MAX_ROUNDS = 5


class Rejection(NamedTuple):
    """Why the service refused a direct upload: the error it would have answered."""

    code: str
    message: str


def _write_condition(
    version: int, owner: str | None, names: dict[str, str] | None = None, values: dict[str, Any] | None = None
) -> Condition:
    """Condition for changing an image: it exists, is at ``version`` and belongs to ``owner``
    (``names`` and ``values``: more of the write's own, e.g. an update's)."""
    expression = "attribute_exists(image_id) AND #version = :version"
    names = {**(names or {}), "#version": "version"}
    values = {**(values or {}), ":version": version}
    if owner is not None:
        expression += " AND #owner = :owner"
        names["#owner"] = "user_id"
        values[":owner"] = owner
    return condition(expression, names, values)


# Only a pending row is replaced (finalised, or refused): never an image.
_IF_PENDING = condition("#status = :pending", {"#status": "status"}, {":pending": PENDING})


def _condition_failed(exc: ClientError) -> bool:
    """True if a transaction was cancelled because one of its conditions did not hold."""
    if error_code(exc) == "ConditionalCheckFailedException":
        return True
    if error_code(exc) != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons", [])
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


class ImagesRepository:
    def __init__(self, dynamodb_client: DynamoDBClient, table_name: str, tag_index: TagIndex) -> None:
        self._dynamodb = dynamodb_client
        self.table_name = table_name
        self._tags = tag_index

    def add(self, image: Image, *, version: int = 1, also: tuple[TransactWriteItemTypeDef, ...] = ()) -> bool:
        """Write ``image`` and its tag rows together; fail if the id already exists.

        ``also``: more conditional actions of the same transaction (a checksum claim). Returns
        False if a condition failed (the id is new, so that is one of them); True once written.
        """
        put_image: TransactWriteItemTypeDef = {
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
        item = self._get_item(image_id, consistent=consistent)
        if item is None:
            return None
        if status_of(item) is not None:
            return PENDING
        return item_to_image(item), version_of(item)

    def get_image_or_rejection(self, image_id: str, *, now: int) -> tuple[Image, int] | Rejection | None:
        """The image and its row version (as ``get``); or why a direct upload with this id was
        refused (until ``now`` passes its ``expires_at``); or ``None``. One read, as ``get``: a
        404 costs no more than before."""
        item = self._get_item(image_id, consistent=False)
        if item is None:
            return None
        if status_of(item) is None:
            return item_to_image(item), version_of(item)
        row = from_item(item)
        # DynamoDB's TTL deletes up to days late: an expired row is already gone for readers.
        if row["status"] == REJECTED and row.get("expires_at", 0) > now:
            return Rejection(row["code"], row["message"])
        return None

    def add_pending(self, image_id: str, request: UploadRequest, expires_at: int) -> None:
        with translate_aws_errors("the image table"):
            self._dynamodb.put_item(
                TableName=self.table_name,
                Item=pending_to_item(image_id, request, expires_at),
                ConditionExpression="attribute_not_exists(image_id)",
            )

    def get_pending(self, image_id: str) -> UploadRequest | None:
        item = self._get_item(image_id, consistent=True)
        if item is None or status_of(item) != PENDING:
            return None
        return item_to_pending(item)

    def _get_item(self, image_id: str, *, consistent: bool) -> Item | None:
        with translate_aws_errors("the image table"):
            response = self._dynamodb.get_item(
                TableName=self.table_name, Key=to_item({"image_id": image_id}), ConsistentRead=consistent
            )
        return response.get("Item")

    def finalise(self, image: Image) -> bool:
        """Turn a pending row into ``image`` and write its tag rows, together; False if it was
        not pending any more (S3 may deliver an event twice)."""
        put_image: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table_name,
                "Item": image_to_item(image),
                **_IF_PENDING,
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
                    TableName=self.table_name, Item=rejected_to_item(image_id, code, message, expires_at), **_IF_PENDING
                )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def remove(self, image: Image, version: int, *, owner: str | None) -> bool:
        """Delete ``image`` and its tag rows if it is still at ``version`` (and owned by ``owner``).

        Returns False when the condition fails (gone, changed, or someone else's): the caller
        reads again to tell 404, 403 and "try again" apart. The decision itself is atomic.
        """
        delete_image: TransactWriteItemTypeDef = {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_item({"image_id": image.image_id}),
                **_write_condition(version, owner),
            }
        }
        return self._transact([delete_image, *self._tags.delete_actions(image.image_id, image.tags)])

    def update(self, image: Image, version: int, edit: ImageEdit, *, owner: str | None) -> Image | None:
        """Apply ``edit`` to metadata and tag rows in one transaction; ``None`` if the condition fails."""
        updated = image._replace(
            title=image.title if edit.title is None else edit.title,
            description=image.description if edit.description is None else edit.description,
            tags=image.tags if edit.tags is None else edit.tags,
        )
        names = {"#title": "title", "#description": "description", "#tags": "tags"}
        values = {":title": updated.title, ":description": updated.description, ":tags": updated.tags}
        update_image: TransactWriteItemTypeDef = {
            "Update": {
                "TableName": self.table_name,
                "Key": to_item({"image_id": image.image_id}),
                "UpdateExpression": "SET #title = :title, #description = :description, #tags = :tags, #version = :next",
                **_write_condition(version, owner, names, {**values, ":next": version + 1}),
            }
        }
        removed = tuple(tag for tag in image.tags if tag not in updated.tags)
        # Every row the image keeps or gains is (re)written: each carries the listed fields.
        actions = [update_image, *self._tags.delete_actions(image.image_id, removed), *self._tags.put_actions(updated)]
        return updated if self._transact(actions) else None

    def _transact(self, actions: list[TransactWriteItemTypeDef]) -> bool:
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
        return self._newest(USER_INDEX, "user_id", user_id, limit=limit, after=after)

    def with_checksum(
        self, user_id: str, received_sha256: str, *, limit: int, after: dict[str, str] | None = None
    ) -> tuple[list[Image], bool]:
        """Up to ``limit`` of ``user_id``'s images of that received file, newest first, and
        whether more exist (``user_sha256-index``; eventually consistent, like every GSI)."""
        key = checksum_key(user_id, received_sha256)
        return self._newest(CHECKSUM_INDEX, "user_sha256", key, limit=limit, after=after)

    def _newest(
        self, index: str, key_name: str, key: str, *, limit: int, after: dict[str, str] | None
    ) -> tuple[list[Image], bool]:
        """Up to ``limit`` images under ``key`` of ``index`` (sort key ``created_at``), newest
        first, after the position ``after``; and whether more exist."""
        start = None
        if after is not None:
            start = to_item({key_name: key, "created_at": after["created_at"], "image_id": after["image_id"]})
        query: QueryInputTypeDef = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": f"{key_name} = :key",
            "ExpressionAttributeValues": to_item({":key": key}),
        }
        rows = query_newest_first(self._dynamodb, query, limit + 1, start)
        return [item_to_image(row) for row in rows[:limit]], len(rows) > limit

    def from_tag_rows(self, rows: list[Item]) -> list[Image]:
        """The images of ``rows`` (tag rows), in their order.

        A row carries the image's listed fields, so no read is needed. Rows written before they
        did (keys only) are completed with one ``BatchGetItem``; an image deleted meanwhile is
        left out.
        """
        bare = [from_item(row)["image_id"] for row in rows if "object_key" not in row]
        found = self.get_many(bare) if bare else {}
        images = []
        for row in rows:
            image = item_to_image(row) if "object_key" in row else found.get(from_item(row)["image_id"])
            if image is not None:
                images.append(image)
        return images

    def get_many(self, image_ids: list[str]) -> dict[str, Image]:
        """The images among ``image_ids`` that exist, by id (``BatchGetItem``)."""
        found: dict[str, Image] = {}
        for offset in range(0, len(image_ids), _BATCH_GET_MAX_KEYS):
            chunk = image_ids[offset : offset + _BATCH_GET_MAX_KEYS]
            request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
                self.table_name: {"Keys": [to_item({"image_id": image_id}) for image_id in chunk]}
            }
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
