"""Domain exceptions. Each one knows the HTTP status and error code it becomes.

They are turned into responses in exactly one place, the ``http.api_handler`` decorator every
API handler wears: a ``ServiceError`` becomes its ``status`` with ``{"message", "code"}``, anything
else a generic 500. (The S3 event path, ``finalise_uploads`` in ``functions/upload/app.py``, lets
errors propagate so that Lambda retries the event.) Transient SDK failures are wrapped by
``aws.translate_aws_errors`` into ``ServiceUnavailable`` with ``raise ... from exc``, so the cause
stays in the logs but never in a response.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class: an error the client is told about. A subclass names its status and code:
    ``class NotFound(ServiceError, status=404, code="not_found")``."""

    status: int = 500
    code: str = "internal_error"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(ServiceError, status=400, code="bad_request"):
    """The request is malformed or breaks a rule of the API (``validation``)."""


class InvalidCursor(BadRequest, code="invalid_next_token"):
    """A ``next_token`` that was altered, or belongs to another listing (``cursors``)."""


class ExpiredCursor(InvalidCursor, code="expired_next_token"):
    """A well-formed ``next_token`` signed with a key the service no longer has: list again."""


class Unauthorized(ServiceError, status=401, code="unauthorized"):
    """A write without a caller the service can name (``identity``)."""


class Forbidden(ServiceError, status=403, code="forbidden"):
    """A caller changing what is not theirs."""


class NotFound(ServiceError, status=404, code="not_found"):
    """No such image (a pending direct upload is not one yet)."""


class PreconditionFailed(ServiceError, status=412, code="precondition_failed"):
    """``If-Match`` named a state of the photo that is not its current one (see ``etags``)."""


class PayloadTooLarge(ServiceError, status=413, code="payload_too_large"):
    """An image over the size limit of its path (API body or direct upload)."""


class UnsupportedMediaType(ServiceError, status=415, code="unsupported_media_type"):
    """A body of a type the route does not take."""


class UploadRejected(ServiceError, status=422, code="upload_rejected"):
    """A direct upload the service checked and refused; ``code`` is the rejection's own."""


class IdempotencyInProgress(ServiceError, status=409, code="idempotency_in_progress"):
    """A request with the same ``Idempotency-Key`` is still running (see ``idempotency``)."""


class IdempotencyKeyReused(ServiceError, status=422, code="idempotency_key_reused"):
    """An ``Idempotency-Key`` already used for a different request (see ``idempotency``)."""


class ServiceUnavailable(ServiceError, status=503, code="service_unavailable"):
    """A dependency failed in a way a retry may fix (throttling, timeouts, 5xx)."""
