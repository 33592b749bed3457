"""AUTH_MODE=cognito in the local mode: tokens, 401s, ownership and edits over HTTP."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from localapi.app import LocalApp
from tests.support.environment import ROOT
from tests.support.images import picture
from tests.support.local_mode import Api


@pytest.fixture(scope="module")
def secured() -> Iterator[Api]:
    app = LocalApp(port=0, auth_mode="cognito").start()
    yield Api(app.url, app)
    app.stop()


def token_for(api: Api, username: str) -> str:
    response = api.request("POST", "/_local/token", json={"username": username})
    assert response.status_code == 200
    return response.json()["id_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sub_of(token: str) -> str:
    """The token's ``sub``: the owner id of what its account uploads."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def upload_body(**fields: object) -> dict:
    # The same picture every time, each upload a photo of its own (not a duplicate answered).
    return {
        "content_type": "image/png",
        "image_base64": base64.b64encode(picture()).decode(),
        "allow_duplicate": True,
        **fields,
    }


def test_signed_in_upload_belongs_to_the_callers_sub_and_shows_the_name(secured: Api, user: str) -> None:
    token = token_for(secured, user)
    response = secured.request("POST", "/images", json=upload_body(tags=["x"]), headers=bearer(token))
    assert response.status_code == 201
    assert response.json()["user_id"] == sub_of(token) != user
    assert response.json()["user_name"] == user
    # Naming oneself in the body, by user name or by owner id, is no impersonation.
    for named in (user, sub_of(token)):
        again = secured.request("POST", "/images", json=upload_body(user_id=named), headers=bearer(token))
        assert again.status_code == 201 and again.json()["user_id"] == sub_of(token)


@pytest.mark.parametrize(
    "name",
    ["Zoë.Ångström-山田太郎", "İstanbul★नमस्ते", "😀" + "ü" * 127],  # the last one: 128 characters
)
def test_every_user_name_cognito_accepts_can_upload_edit_list_and_delete(secured: Api, name: str) -> None:
    """Cognito accepts up to 128 Unicode characters; the user_id pattern accepts none of these."""
    token = token_for(secured, f"{name[:-12]}{uuid.uuid4().hex[:12]}" if len(name) >= 128 else name + uuid.uuid4().hex)
    owner = bearer(token)
    created = secured.request("POST", "/images", json=upload_body(tags=["unicode"]), headers=owner)
    assert created.status_code == 201, created.text
    image = created.json()
    assert image["user_id"] == sub_of(token) and len(image["user_name"]) <= 128
    image_id = image["image_id"]
    direct = secured.request("POST", "/images/uploads", json={"content_type": "image/jpeg"}, headers=owner)
    assert direct.status_code == 201, direct.text
    assert secured.request("PATCH", f"/images/{image_id}", json={"title": "t"}, headers=owner).status_code == 200
    assert secured.list_all(user_id=sub_of(token)) == [image_id]
    assert secured.request("DELETE", f"/images/{image_id}", headers=owner).status_code == 204


def test_a_deleted_account_s_name_registered_again_inherits_nothing(secured: Api, user: str) -> None:
    first = token_for(secured, user)
    image_id = secured.request("POST", "/images", json=upload_body(), headers=bearer(first)).json()["image_id"]
    secured.app.gateway.user_pool.delete_user(user)  # AdminDeleteUser; then someone signs up as `user`
    newcomer = bearer(token_for(secured, user))
    before = secured.storage()
    assert (
        secured.request("PATCH", f"/images/{image_id}", json={"title": "mine now"}, headers=newcomer).status_code == 403
    )
    assert secured.request("DELETE", f"/images/{image_id}", headers=newcomer).status_code == 403
    assert secured.storage() == before
    assert secured.request("GET", f"/images/{image_id}").json()["user_id"] == sub_of(first)


@pytest.mark.parametrize("name", ["has space", "tab\tname", "", "x" * 129])
def test_the_token_endpoint_refuses_what_cognito_refuses(secured: Api, name: str) -> None:
    assert secured.request("POST", "/_local/token", json={"username": name}).status_code == 400


def test_body_user_id_cannot_impersonate(secured: Api, user: str) -> None:
    before = secured.storage()
    response = secured.request(
        "POST", "/images", json=upload_body(user_id="someone-else"), headers=bearer(token_for(secured, user))
    )
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert secured.storage() == before


@pytest.mark.parametrize("kind", ["missing", "forged", "expired", "garbage", "other-pool"])
def test_bad_tokens_are_401_from_the_gateway(secured: Api, user: str, kind: str) -> None:
    good = token_for(secured, user)
    header, _, signature = good.split(".")
    # The same signature on claims the attacker chose.
    forged_claims = base64.urlsafe_b64encode(json.dumps({"cognito:username": "admin"}).encode()).decode().rstrip("=")
    tokens = {
        "missing": None,
        "forged": f"{header}.{forged_claims}.{signature}",
        "expired": secured.app.gateway.user_pool.issue_id_token(user, ttl_seconds=-1),
        "garbage": "not-a-jwt",
        "other-pool": _other_pool_token(user),
    }
    headers = bearer(tokens[kind]) if tokens[kind] else {}
    before = secured.storage()
    response = secured.request("POST", "/images", json=upload_body(), headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized", "code": "UNAUTHORIZED"}
    assert secured.storage() == before


def _other_pool_token(user: str) -> str:
    from localapi.cognito import LocalUserPool

    return LocalUserPool(issuer="http://elsewhere/_local").issue_id_token(user)


def test_reads_need_no_token(secured: Api, user: str) -> None:
    image_id = secured.request("POST", "/images", json=upload_body(), headers=bearer(token_for(secured, user))).json()[
        "image_id"
    ]
    assert secured.request("GET", f"/images/{image_id}").status_code == 200
    assert secured.request("GET", f"/images/{image_id}/download").status_code == 200
    owner_id = secured.request("GET", f"/images/{image_id}").json()["user_id"]
    assert secured.request("GET", "/images", params={"user_id": owner_id}).json()["items"][0]["image_id"] == image_id


def test_only_the_owner_edits_and_deletes(secured: Api, user: str, tag: str) -> None:
    owner, other = bearer(token_for(secured, user)), bearer(token_for(secured, f"{user}-other"))
    image_id = secured.request("POST", "/images", json=upload_body(tags=[tag, "keep"]), headers=owner).json()[
        "image_id"
    ]
    before = secured.storage()

    assert secured.request("PATCH", f"/images/{image_id}", json={"title": "stolen"}, headers=other).status_code == 403
    assert secured.request("DELETE", f"/images/{image_id}", headers=other).status_code == 403
    assert secured.request("PATCH", f"/images/{image_id}", json={"title": "x"}).status_code == 401
    assert secured.storage() == before

    edited = secured.request(
        "PATCH", f"/images/{image_id}", json={"title": "Mine", "tags": ["keep", "new"]}, headers=owner
    )
    assert edited.status_code == 200 and edited.json()["title"] == "Mine" and edited.json()["tags"] == ["keep", "new"]
    owner_id = sub_of(owner["Authorization"].removeprefix("Bearer "))
    assert secured.list_all(tag=tag) == [] and secured.list_all(user_id=owner_id, tag="new") == [image_id]
    assert secured.request("DELETE", f"/images/{image_id}", headers=owner).status_code == 204
    assert secured.request("GET", f"/images/{image_id}").status_code == 404


def test_concurrent_edits_leave_exact_tag_mappings(secured: Api, user: str, tag: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    owner = bearer(token_for(secured, user))
    image_id = secured.request("POST", "/images", json=upload_body(tags=[tag]), headers=owner).json()["image_id"]
    bodies = [{"tags": [f"{tag}{i}", f"{tag}x"]} for i in range(6)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(
                lambda b: secured.request("PATCH", f"/images/{image_id}", json=b, headers=owner).status_code, bodies
            )
        )
    assert set(statuses) <= {200, 503} and 200 in statuses
    final = secured.request("GET", f"/images/{image_id}").json()["tags"]
    dynamodb, _ = secured.app.aws.clients()
    table = next(
        d["TableName"] for d in secured.app.template.table_definitions() if d["TableName"].endswith("image_tags")
    )
    rows = [r for r in dynamodb.scan(TableName=table)["Items"] if r["image_id"]["S"] == image_id]
    assert sorted(r["tag"]["S"] for r in rows) == sorted(final)


def test_make_token_prints_a_working_token_last(secured: Api, user: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "localapi", "token", user, "--url", secured.base_url],
        cwd=ROOT,
        env={"PYTHONPATH": "local", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    token = done.stdout.strip().splitlines()[-1]
    assert secured.request("POST", "/images", json=upload_body(), headers=bearer(token)).status_code == 201


def test_cors_preflight_and_error_headers(secured: Api) -> None:
    preflight = secured.request(
        "OPTIONS", "/images", headers={"Origin": "http://localhost:8000", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    unauthorized = secured.request("DELETE", "/images/01JDQ8ZB3F2T6X8W4N5R7K9M0P")
    assert unauthorized.status_code == 401 and unauthorized.headers["Access-Control-Allow-Origin"] == "*"


def test_open_mode_has_no_token_endpoint(api: Api) -> None:
    assert api.request("POST", "/_local/token", json={"username": "alice"}).status_code == 403
