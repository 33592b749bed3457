"""Who is calling: the identity API Gateway's Cognito authorizer put in the event.

With ``AUTH_MODE=cognito`` the caller is the verified ID token's claims
(``requestContext.authorizer.claims``), never something the client wrote in the body:

- the **owner** (``user_id``) is the ``sub`` claim, an id Cognito never gives to another account.
  A user name is not: after an account is deleted, whoever registers the same name would
  inherit its photos and the right to edit and delete them.
- the **display name** (``user_name``) is the ``cognito:username`` claim, kept beside the
  photo for people to read. Cognito accepts up to 128 Unicode characters there; every name it
  accepts is shown, none is refused (it decides nothing).

In the open mode (``none``) there is no authorizer: the body's ``user_id`` (checked against the
API's pattern by validation) is trusted and is both owner and display name. Claims are still
honoured if an event carries them.
"""

from __future__ import annotations

import unicodedata
from typing import Any, NamedTuple

from .errors import BadRequest, Forbidden, Unauthorized
from .validation import USER_ID_PATTERN

# Cognito's user names: 1 to 128 characters of letters, marks, symbols, numbers, punctuation.
# The check here is wider (anything but the "other" categories: control, format, private-use,
# unassigned, none of which Cognito accepts): a name is shown, never trusted, so nothing Cognito
# accepts may be refused.
MAX_USER_NAME_LENGTH = 128


class Caller(NamedTuple):
    user_id: str  # the owner id: Cognito's sub
    user_name: str  # what people see: the Cognito user name


def _is_displayable(name: object) -> bool:
    return (
        isinstance(name, str)
        and 1 <= len(name) <= MAX_USER_NAME_LENGTH
        and not any(unicodedata.category(char).startswith("C") for char in name)
    )


def caller(event: dict[str, Any]) -> Caller | None:
    """The authenticated caller, or ``None`` when the event carries no claims."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = authorizer.get("claims") or {}
    sub = claims.get("sub")
    if sub is None:  # every Cognito ID token has one: without it, nobody is signed in
        return None
    if not isinstance(sub, str) or not USER_ID_PATTERN.fullmatch(sub):
        raise Forbidden("this sign-in carries no usable account id")
    name = claims.get("cognito:username") or claims.get("username") or sub
    if not _is_displayable(name):
        raise Forbidden("this account's user name cannot be shown here")
    return Caller(user_id=sub, user_name=name)


def caller_id(event: dict[str, Any]) -> str | None:
    """The authenticated user's owner id (``sub``), or ``None`` when the event carries no claims."""
    found = caller(event)
    return found.user_id if found else None


def writer_id(event: dict[str, Any], auth_mode: str) -> str | None:
    """The caller allowed to write, ``None`` in the open mode without claims; 401 if required."""
    writer = caller_id(event)
    if writer is None and auth_mode == "cognito":
        raise Unauthorized("sign in to do this")
    return writer


def uploader(event: dict[str, Any], auth_mode: str, body_user_id: str | None) -> Caller:
    """Owner and display name of a new image: the caller; the body's ``user_id`` must not name
    anyone else. A signed-in caller may name themselves by owner id or by user name."""
    signed_in = caller(event)
    if signed_in is None:
        if auth_mode == "cognito":
            raise Unauthorized("sign in to do this")
        if body_user_id is None:
            raise BadRequest("user_id is required", code="missing_field")
        return Caller(user_id=body_user_id, user_name=body_user_id)
    if body_user_id is not None and body_user_id not in (signed_in.user_id, signed_in.user_name):
        raise Forbidden("user_id must be your own user id")
    return signed_in


def owner_for_upload(event: dict[str, Any], auth_mode: str, body_user_id: str | None) -> str:
    """The owner id of a new image (see ``uploader``)."""
    return uploader(event, auth_mode, body_user_id).user_id
