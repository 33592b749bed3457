"""Retry-safe writes: the ``Idempotency-Key`` header of ``POST /images``, ``POST /images/uploads``
and ``PATCH /images/{image_id}`` (the convention of Stripe and the IETF's Idempotency-Key draft).

Within ``RETENTION_SECONDS`` (24 h) of a first request, the same caller sending the same key on
the same route gets:

- the same request (same fingerprint): the first response again, same status and body, with
  ``Idempotent-Replayed: true``; nothing runs, so nothing new is stored;
- a different request: ``422 idempotency_key_reused``;
- while the first is still running: ``409 idempotency_in_progress`` (retry later).

Keys are scoped per caller (the token's ``sub``; in the open mode the request's ``user_id``) and
per route: two callers, or two routes, never share a key. The table's key is the SHA-256 of
(scope, route, client key): fixed length whatever the client sends, and the client's key is not
stored in the clear.

How one request goes. A conditional ``PutItem`` writes an "in progress" record with the
request's fingerprint (SHA-256 of method, route, path parameters, Content-Type, query and body);
the condition lets it in only if no live record holds the key, so of two requests at once
exactly one runs. Its lease ends with the function's own timeout (Lambda's remaining time): a
record still "in progress" after that belongs to an invocation that was killed, and counts as
expired, so the key is not blocked for 24 hours by a crash. A successful (2xx) response is then
written into the record and kept (``expires_at``, DynamoDB's TTL; readers also check the time,
because TTL deletes late). Any other outcome (a 4xx, a 5xx, an exception) deletes the record:
like Powertools, only success is remembered, so a client that fixes its request or meets a 503
retries with the same key and is not answered an old error. Replayed bodies are the API's small
JSON objects, far under DynamoDB's 400 KB item limit.

Why our own module and not Powertools' idempotency utility (the ecosystem's way). Measured on
this machine (Python 3.11, a fresh interpreter per run, 7 runs, boto3 and its client already
loaded in both, as they are in the upload function): importing Powertools' utility (3.37) and
setting up its ``DynamoDBPersistenceLayer``, ``IdempotencyConfig`` and decorator took 280-390 ms
(median ~330 ms) and 8.3 MB of packages (with jmespath and typing_extensions) in the layer;
importing this module and creating its store took 3-24 ms. The upload function's cold start is
already the longest (it loads Pillow); a third of a second more on every new container, for
every upload route, is a real cost to a phone on a bad network, the very client this is for.
Beyond the cost, the utility fits our contract badly: it hashes the event (or a JMESPath of it)
per decorated function, not per caller and route with a scope we decide; a repeat while in
progress is an exception, not our ``{"message", "code"}`` 409; it replays the handler's return
value, with no ``Idempotent-Replayed`` header; and a payload mismatch is an exception we would
translate anyway. What it adds beyond this module (an in-memory cache, JMESPath key selection,
other stores) we do not need. About 200 lines of our own, tested against the emulated DynamoDB, are the cheaper choice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

from .aws import error_code, translate_aws_errors
from .errors import BadRequest, IdempotencyInProgress, IdempotencyKeyReused, ServiceError
from .http import LambdaResponse, header, json_response, query_as_sent, request_body
from .identity import caller_id
from .items import Item, from_item, to_item

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger("image_service")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_CHARS = 255
RETENTION_SECONDS = 24 * 3600
# The lease of a request without a Lambda context (tests): the upload function's timeout.
DEFAULT_LEASE_SECONDS = 20
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
# A key is free to claim: no record, one past its retention, or one whose invocation died.
_FREE_KEY = "attribute_not_exists(#key) OR expires_at <= :now OR (#status = :in_progress AND in_progress_until <= :now)"


def parse_key(value: str | None) -> str | None:
    """The client's key (1-255 printable ASCII characters), ``None`` if absent; else 400."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_KEY_CHARS or not all(" " <= ch <= "~" for ch in value):
        raise BadRequest(
            f"{HEADER} must be 1-{MAX_KEY_CHARS} printable ASCII characters", code="invalid_idempotency_key"
        )
    return value


def fingerprint(event: dict[str, Any]) -> str:
    """SHA-256 of what makes a request the same request: method, route, path, type, query, body."""
    digest = hashlib.sha256()
    # A parameter's one value as such (the records of requests before repeats were kept); a
    # repeated one, which its handler refuses, by its values.
    query = {
        name: values[-1] if len(set(values)) == 1 else sorted(set(values))
        for name, values in query_as_sent(event).items()
    }
    parts = {
        "method": event.get("httpMethod", ""),
        "route": event.get("resource", ""),
        "path": event.get("pathParameters") or {},
        "content_type": (header(event, "Content-Type") or "").split(";", 1)[0].strip().lower(),
        "query": sorted(query.items()),
        "base64": bool(event.get("isBase64Encoded")),
    }
    digest.update(json.dumps(parts, sort_keys=True).encode("utf-8"))
    digest.update(b"\0")
    digest.update((event.get("body") or "").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def record_key(scope: str, event: dict[str, Any], key: str) -> str:
    route = f"{event.get('httpMethod', '')} {event.get('resource', '')}"
    return hashlib.sha256("\0".join((scope, route, key)).encode("utf-8")).hexdigest()


class Record(NamedTuple):
    """A row of the idempotency table: a request in progress, or its completed response."""

    key: str
    status: str  # IN_PROGRESS or COMPLETED
    fingerprint: str
    expires_at: int  # DynamoDB's TTL; readers check it too
    in_progress_until: int | None = None  # the lease of the invocation that runs it
    status_code: int | None = None
    response_body: str | None = None
    # The entity tag belongs to the answer (a PATCH's ETag): replayed with it.
    etag: str | None = None

    def live(self, now: int) -> bool:
        """Not past its retention, and not the lease of an invocation that died."""
        lease_over = self.status == IN_PROGRESS and (self.in_progress_until or 0) <= now
        return self.expires_at > now and not lease_over

    def to_item(self) -> Item:
        return to_item(self._asdict())

    @classmethod
    def from_item(cls, item: Item) -> Record:
        row = from_item(item)
        return cls(**{name: row[name] for name in cls._fields if name in row})


def replay(record: Record) -> LambdaResponse:
    """The first response again: same status, body and ETag, marked as a replay."""
    assert record.status_code is not None and record.response_body is not None
    response = json_response(record.status_code, None)
    response["body"] = record.response_body
    response["headers"][REPLAYED_HEADER] = "true"
    if record.etag is not None:
        response["headers"]["ETag"] = record.etag
    response["headers"]["Access-Control-Expose-Headers"] = f"ETag, {REPLAYED_HEADER}"
    return response


class IdempotencyStore:
    """The records in the idempotency table (partition key ``key``, TTL ``expires_at``)."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._dynamodb = dynamodb
        self.table_name = table_name
        self._clock = clock

    def run(
        self,
        event: dict[str, Any],
        context: Any,
        scope_of_caller: Callable[[], str | None],
        handle: Callable[[], LambdaResponse],
    ) -> LambdaResponse:
        """Answer ``event`` with ``handle()`` at most once per (scope, route, key).

        The caller's scope is only worked out when a key is sent: in the open mode it reads the
        JSON body, which for an upload holds the whole photo (a second parse would copy it)."""
        key = parse_key(header(event, HEADER))
        if key is None:
            return handle()
        scope = scope_of_caller()
        if scope is None:  # nobody to scope the key to: the handler says 401
            return handle()
        table_key = record_key(scope, event, key)
        request_print = fingerprint(event)
        for _ in range(3):
            if self._claim(table_key, request_print, self._lease_seconds(context)):
                break
            record = self._read(table_key)
            if record is None:
                continue  # released or expired between the two calls: try to claim it again
            if record.fingerprint != request_print:
                raise IdempotencyKeyReused(f"this {HEADER} was already used for a different request")
            if record.status == COMPLETED:
                return replay(record)
            raise IdempotencyInProgress(f"a request with this {HEADER} is still being processed; retry later")
        else:
            raise IdempotencyInProgress(f"a request with this {HEADER} is still being processed; retry later")
        try:
            response = handle()
        except BaseException:
            self._release(table_key)
            raise
        if 200 <= response["statusCode"] < 300:
            self._complete(table_key, request_print, response)
        else:
            self._release(table_key)
        return response

    def _lease_seconds(self, context: Any) -> int:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            try:
                return max(1, int(remaining()) // 1000 + 1)
            except (TypeError, ValueError):
                pass
        return DEFAULT_LEASE_SECONDS

    def _claim(self, table_key: str, request_print: str, lease_seconds: int) -> bool:
        """Write an in-progress record, only if the key is free; False if it is not."""
        now = int(self._clock())
        claim = Record(
            table_key, IN_PROGRESS, request_print, now + RETENTION_SECONDS, in_progress_until=now + lease_seconds
        )
        try:
            self._put(claim, if_free_at=now)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _read(self, table_key: str) -> Record | None:
        """The live record of ``table_key`` (an expired one counts as none)."""
        with translate_aws_errors("the idempotency table"):
            item = self._dynamodb.get_item(
                TableName=self.table_name, Key=to_item({"key": table_key}), ConsistentRead=True
            ).get("Item")
        record = Record.from_item(item) if item is not None else None
        return record if record is not None and record.live(int(self._clock())) else None

    def _complete(self, table_key: str, request_print: str, response: LambdaResponse) -> None:
        now = int(self._clock())
        completed = Record(
            table_key,
            COMPLETED,
            request_print,
            now + RETENTION_SECONDS,
            status_code=response["statusCode"],
            response_body=response["body"],
            etag=response["headers"].get("ETag"),
        )
        try:
            self._put(completed)
        except Exception:
            # The write itself succeeded: the client gets its answer. Without the record a retry
            # runs again once the lease ends, which is what happened before this feature.
            logger.error("could not record an idempotent response", exc_info=True)
            self._release(table_key)

    def _put(self, record: Record, *, if_free_at: int | None = None) -> None:
        """Write ``record`` over the key's; with ``if_free_at``, only if the key is free at that time."""
        guarded: dict[str, Any] = {}
        if if_free_at is not None:
            guarded = {
                "ConditionExpression": _FREE_KEY,
                "ExpressionAttributeNames": {"#key": "key", "#status": "status"},
                "ExpressionAttributeValues": to_item({":now": if_free_at, ":in_progress": IN_PROGRESS}),
            }
        with translate_aws_errors("the idempotency table"):
            self._dynamodb.put_item(TableName=self.table_name, Item=record.to_item(), **guarded)

    def _release(self, table_key: str) -> None:
        try:
            with translate_aws_errors("the idempotency table"):
                self._dynamodb.delete_item(TableName=self.table_name, Key=to_item({"key": table_key}))
        except Exception:
            # The lease still ends with the function's timeout: the key is blocked until then only.
            logger.error("could not release an idempotency key", exc_info=True)


def scope_of(event: dict[str, Any], auth_mode: str) -> str | None:
    """Whose keys these are: the token's ``sub``; in the open mode the request's ``user_id``.

    ``None`` when nobody can be named (cognito mode without a token): the handler answers 401
    and nothing is recorded. In the open mode a request naming no ``user_id`` (an edit) shares
    the anonymous scope: the open mode has no identities to keep apart.
    """
    try:
        signed_in = caller_id(event)
    except ServiceError:
        return None  # a token with no usable sub: the handler refuses it
    if signed_in is not None:
        return f"sub:{signed_in}"
    if auth_mode == "cognito":
        return None
    user_id = query_as_sent(event).get("user_id", [None])[-1]
    if user_id is None and (header(event, "Content-Type") or "").split(";", 1)[0].strip().lower() in (
        "",
        "application/json",
    ):
        try:
            body = json.loads(request_body(event) or "null")
        except (ValueError, RecursionError, ServiceError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("user_id"), str):
            user_id = body["user_id"]
    return f"user:{user_id or ''}"
