"""Domain exceptions. Each one knows the HTTP status and error code it becomes.

They are turned into responses in exactly one place, the ``http.api_handler`` decorator every
API handler wears: a ``ServiceError`` becomes its ``status`` with ``{"message", "code"}``, anything
else a generic 500. (The S3 event path, ``finalise_uploads`` in ``functions/upload/app.py``, lets
errors propagate so that Lambda retries the event.) Transient SDK failures are wrapped by
``aws.translate_aws_errors`` into ``ServiceUnavailable`` with ``raise ... from exc``, so the cause
stays in the logs but never in a response.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: an error the client is told about."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(ServiceError):
    status = 400
    code = "bad_request"


class InvalidCursor(BadRequest):
    code = "invalid_next_token"


class ExpiredCursor(InvalidCursor):
    """A well-formed ``next_token`` signed with a key the service no longer has: list again."""

    code = "expired_next_token"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class PreconditionFailed(ServiceError):
    """``If-Match`` named a state of the photo that is not its current one (see ``etags``)."""

    status = 412
    code = "precondition_failed"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


class UploadRejected(ServiceError):
    """A direct upload the service checked and refused; ``code`` is the rejection's own."""

    status = 422
    code = "upload_rejected"


class IdempotencyInProgress(ServiceError):
    """A request with the same ``Idempotency-Key`` is still running (see ``idempotency``)."""

    status = 409
    code = "idempotency_in_progress"


class IdempotencyKeyReused(ServiceError):
    """An ``Idempotency-Key`` already used for a different request (see ``idempotency``)."""

    status = 422
    code = "idempotency_key_reused"


class ServiceUnavailable(ServiceError):
    """A dependency failed in a way a retry may fix (throttling, timeouts, 5xx)."""

    status = 503
    code = "service_unavailable"
