import pytest

from image_service.errors import BadRequest, Forbidden, Unauthorized
from image_service.identity import caller_id, owner_for_upload, writer_id


def event_with(claims: dict | None) -> dict:
    return {"requestContext": {"authorizer": {"claims": claims}} if claims is not None else {}}


ALICE = event_with({"sub": "0b7e-...", "cognito:username": "alice", "token_use": "id"})


def test_caller_comes_from_the_authorizer_claims() -> None:
    assert caller_id(ALICE) == "alice"
    assert caller_id(event_with(None)) is None
    assert caller_id({}) is None


def test_unusable_username_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        caller_id(event_with({"cognito:username": "a#b"}))


def test_cognito_mode_requires_a_caller() -> None:
    with pytest.raises(Unauthorized):
        writer_id(event_with(None), "cognito")
    assert writer_id(event_with(None), "none") is None
    assert writer_id(ALICE, "cognito") == "alice"


def test_body_user_id_cannot_impersonate() -> None:
    assert owner_for_upload(ALICE, "cognito", None) == "alice"
    assert owner_for_upload(ALICE, "cognito", "alice") == "alice"
    with pytest.raises(Forbidden):
        owner_for_upload(ALICE, "cognito", "bob")
    with pytest.raises(Forbidden):
        owner_for_upload(ALICE, "none", "bob")  # claims are honoured in the open mode too


def test_open_mode_trusts_the_body_and_requires_it() -> None:
    assert owner_for_upload(event_with(None), "none", "bob") == "bob"
    with pytest.raises(BadRequest):
        owner_for_upload(event_with(None), "none", None)
    with pytest.raises(Unauthorized):
        owner_for_upload(event_with(None), "cognito", "bob")
