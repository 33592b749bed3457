import pytest

from image_service.errors import BadRequest, Forbidden, Unauthorized
from image_service.identity import Caller, caller, caller_id, owner_for_upload, uploader, writer_id


def event_with(claims: dict | None) -> dict:
    return {"requestContext": {"authorizer": {"claims": claims}} if claims is not None else {}}


ALICE_SUB = "0b7e5c1a-6f3d-4a8e-9c2b-1d4f6a8b0c2e"
ALICE = event_with({"sub": ALICE_SUB, "cognito:username": "alice", "token_use": "id"})
# Cognito accepts user names of up to 128 letters, marks, symbols, digits and punctuation of any
# script; the service's user_id pattern (1-64 ASCII characters) refuses all of these.
UNICODE_NAMES = [
    "Zoë.Ångström",
    "Łukasz_Żółć",
    "山田太郎",
    "İstanbul★",
    "नमस्ते",  # Devanagari with vowel signs (combining marks)
    "😀photographer",
    "ü" * 128,
]


def test_the_owner_is_the_sub_and_the_user_name_is_only_shown() -> None:
    assert caller(ALICE) == Caller(user_id=ALICE_SUB, user_name="alice")
    assert caller_id(ALICE) == ALICE_SUB
    assert caller_id(event_with(None)) is None
    assert caller_id({}) is None
    assert caller_id(event_with({"cognito:username": "alice"})) is None  # no sub: nobody signed in


def test_a_name_given_again_to_a_new_account_owns_nothing_of_the_old_one() -> None:
    """Cognito gives a name free again after the account is deleted; never a sub."""
    newcomer = event_with({"sub": "9f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f", "cognito:username": "alice"})
    assert caller_id(newcomer) != caller_id(ALICE)


@pytest.mark.parametrize("name", UNICODE_NAMES)
def test_every_name_cognito_accepts_can_write(name: str) -> None:
    event = event_with({"sub": ALICE_SUB, "cognito:username": name})
    assert uploader(event, "cognito", None) == Caller(user_id=ALICE_SUB, user_name=name)
    assert writer_id(event, "cognito") == ALICE_SUB


def test_an_unusable_sub_or_name_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        caller_id(event_with({"sub": "a#b", "cognito:username": "alice"}))
    with pytest.raises(Forbidden):
        caller_id(event_with({"sub": ALICE_SUB, "cognito:username": "bad\u0000name"}))
    with pytest.raises(Forbidden):
        caller_id(event_with({"sub": ALICE_SUB, "cognito:username": "x" * 129}))


def test_cognito_mode_requires_a_caller() -> None:
    with pytest.raises(Unauthorized):
        writer_id(event_with(None), "cognito")
    assert writer_id(event_with(None), "none") is None
    assert writer_id(ALICE, "cognito") == ALICE_SUB


def test_body_user_id_cannot_impersonate() -> None:
    assert owner_for_upload(ALICE, "cognito", None) == ALICE_SUB
    # The body may name the caller by owner id or by user name: the owner is the sub either way.
    assert owner_for_upload(ALICE, "cognito", ALICE_SUB) == ALICE_SUB
    assert owner_for_upload(ALICE, "cognito", "alice") == ALICE_SUB
    with pytest.raises(Forbidden):
        owner_for_upload(ALICE, "cognito", "bob")
    with pytest.raises(Forbidden):
        owner_for_upload(ALICE, "none", "bob")  # claims are honoured in the open mode too


def test_open_mode_trusts_the_body_and_requires_it() -> None:
    assert uploader(event_with(None), "none", "bob") == Caller(user_id="bob", user_name="bob")
    with pytest.raises(BadRequest):
        owner_for_upload(event_with(None), "none", None)
    with pytest.raises(Unauthorized):
        owner_for_upload(event_with(None), "cognito", "bob")
