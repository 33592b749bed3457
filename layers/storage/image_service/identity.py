"""Who is calling: the identity API Gateway's Cognito authorizer put in the event.

With ``AUTH_MODE=cognito`` the caller is the ``cognito:username`` claim of the verified ID token
(``requestContext.authorizer.claims``), never something the client wrote in the body. In the open
mode (``none``) there is no authorizer and the body's ``user_id`` is trusted, as in the original
design; claims are still honoured if an event carries them.
"""

from __future__ import annotations

from typing import Any

from .errors import BadRequest, Forbidden, Unauthorized
from .validation import USER_ID_PATTERN


def caller_id(event: dict[str, Any]) -> str | None:
    """The authenticated user's id, or ``None`` when the event carries no claims."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = authorizer.get("claims") or {}
    username = claims.get("cognito:username") or claims.get("username")
    if not username:
        return None
    if not isinstance(username, str) or not USER_ID_PATTERN.match(username):
        raise Forbidden("this account's user name cannot own photos here")
    return username


def writer_id(event: dict[str, Any], auth_mode: str) -> str | None:
    """The caller allowed to write, ``None`` in the open mode without claims; 401 if required."""
    caller = caller_id(event)
    if caller is None and auth_mode == "cognito":
        raise Unauthorized("sign in to do this")
    return caller


def owner_for_upload(event: dict[str, Any], auth_mode: str, body_user_id: str | None) -> str:
    """The owner of a new image: the caller; the body's ``user_id`` must not name anyone else."""
    caller = writer_id(event, auth_mode)
    if caller is None:
        if body_user_id is None:
            raise BadRequest("user_id is required", code="missing_field")
        return body_user_id
    if body_user_id is not None and body_user_id != caller:
        raise Forbidden("user_id must be your own user id")
    return caller
