"""The ``image_tags`` table: one row per (tag, image), newest image first within a tag.

Each row also carries ``user_tag`` (``user_id#tag``), the key of the ``user_tag-index`` GSI, so
"this user's photos with this tag" is one query that reads only matching rows: the work per page
stays flat however many photos the user or the tag has. ``#`` can appear in neither a user id nor
a tag (see ``validation``), so the composite key is unambiguous.

Each row is also a copy of the image's listed fields (the ``images`` row minus its version), and
the GSI projects them all: a page by tag is one ``Query`` that reads ~0.5 KB per photo, instead of
a ``Query`` for ids plus a ``BatchGetItem`` that bills every image as a whole 4 KB read unit. The
price is paid on writes: an edit rewrites the rows of every tag the image keeps, in the same
transaction as the image, so a listing never shows other fields than a get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .aws import translate_aws_errors
from .items import Item, tag_to_item, to_item, user_tag_key
from .models import Image

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodb.type_defs import QueryInputTypeDef, TransactWriteItemTypeDef

USER_TAG_INDEX = "user_tag-index"


class TagIndex:
    def __init__(self, dynamodb_client: DynamoDBClient, table_name: str) -> None:
        self._dynamodb = dynamodb_client
        self.table_name = table_name

    def put_actions(self, image: Image) -> list[TransactWriteItemTypeDef]:
        """``TransactWriteItems`` actions that write (add or overwrite) ``image``'s tag rows, each
        with a copy of the image's listed fields."""
        return [{"Put": {"TableName": self.table_name, "Item": tag_to_item(image, tag)}} for tag in image.tags]

    def delete_actions(self, image_id: str, tags: tuple[str, ...]) -> list[TransactWriteItemTypeDef]:
        """``TransactWriteItems`` actions that remove the tag rows of ``image_id``."""
        return [
            {"Delete": {"TableName": self.table_name, "Key": to_item({"tag": tag, "image_id": image_id})}}
            for tag in tags
        ]

    def newest_rows(
        self, tag: str, *, user_id: str | None, limit: int, after_image_id: str | None
    ) -> tuple[list[Item], bool]:
        """Up to ``limit`` tag rows of ``tag`` (and owner ``user_id``), newest first.

        Returns the rows (each with the image's listed fields) and whether more exist. Reads
        ``limit + 1`` rows so that "more" is known without an extra empty page.
        """
        if user_id is None:
            request: QueryInputTypeDef = {
                "TableName": self.table_name,
                "KeyConditionExpression": "#pk = :pk",
                "ExpressionAttributeNames": {"#pk": "tag"},
                "ExpressionAttributeValues": to_item({":pk": tag}),
            }
            start = to_item({"tag": tag, "image_id": after_image_id}) if after_image_id else None
        else:
            key = user_tag_key(user_id, tag)
            request = {
                "TableName": self.table_name,
                "IndexName": USER_TAG_INDEX,
                "KeyConditionExpression": "#pk = :pk",
                "ExpressionAttributeNames": {"#pk": "user_tag"},
                "ExpressionAttributeValues": to_item({":pk": key}),
            }
            start = to_item({"user_tag": key, "tag": tag, "image_id": after_image_id}) if after_image_id else None
        rows = query_newest_first(self._dynamodb, request, limit + 1, start)
        return rows[:limit], len(rows) > limit


def query_newest_first(
    dynamodb: DynamoDBClient, query: QueryInputTypeDef, wanted: int, start_key: Item | None
) -> list[Item]:
    """Run ``query`` in descending order until ``wanted`` rows are read or the partition ends.

    DynamoDB may stop a page early (1 MB per response), so one call can need several requests.
    """
    request = query.copy()
    request["ScanIndexForward"] = False
    rows: list[Item] = []
    while len(rows) < wanted:
        request["Limit"] = wanted - len(rows)
        if start_key:
            request["ExclusiveStartKey"] = start_key
        with translate_aws_errors("the image index"):
            response = dynamodb.query(**request)
        rows.extend(response.get("Items", []))
        start_key = response.get("LastEvaluatedKey")
        if not start_key:
            break
    return rows
