"""IAM enforcement in front of moto: each function's calls are allowed only by its own role.

Runs inside the AWS emulation's process (``moto_server``), before moto sees a request:

- the caller is found by its access key in moto's own IAM/STS backends (each function works with
  credentials of its assumed role, made by ``iam.py`` when the emulation starts); any other key is
  the developer's (tests, ``make serve``'s own setup), which may do anything, as an account
  administrator may;
- the SigV4 signature is recomputed with botocore's signer and compared in constant time;
- each action the request performs is evaluated against the role's policies with moto's policy
  evaluator (``IAMPolicy``), on the resource AWS checks: the table or index ARN for DynamoDB (moto
  itself checks everything against ``*``), each key for ``DeleteObjects`` (moto checks the bucket),
  every item of a batch or transaction;
- pre-signed URLs and POST forms act with the signer's permissions, after S3's checks of their
  signature, expiry and policy (``presign.py``).

A refused call gets the answer AWS gives: DynamoDB's ``AccessDeniedException`` (JSON, 400), S3's
``AccessDenied`` (XML, 403). moto's own enforcement stays off; this module relies on moto
internals listed in ``MOTO_INTERNALS``, which ``local/tests/test_iam.py`` checks (moto is pinned).
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape, unescape

from botocore.credentials import Credentials
from moto.iam.access_control import CreateAccessKeyFailure, IAMPolicy, PermissionResult, create_access_key
from moto.s3.responses import ACTION_MAP
from werkzeug.formparser import parse_form_data

from .presign import (
    Credential,
    S3Error,
    check_post_policy,
    check_presigned_url_times,
    decode_policy,
    header_signature,
    parse_authorization,
    post_signature,
    query_signature,
    s3_error_xml,
    signatures_match,
)

ACCOUNT_ID = "123456789012"
# What this module uses of moto (pinned in requirements-dev.txt); the canary test checks each.
MOTO_INTERNALS = (
    "moto.iam.access_control.create_access_key",
    "moto.iam.access_control.CreateAccessKeyFailure",
    "moto.iam.access_control.IAMPolicy",  # and its parsed document, IAMPolicy(...)._policy_json
    "moto.iam.access_control.PermissionResult",
    "moto.s3.responses.ACTION_MAP",
)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Refused(Exception):
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        super().__init__(status)
        self.status, self.headers, self.body = status, headers, body


class Principal:
    """A function's role session: its ARN, secret, and the policies moto holds for it."""

    def __init__(self, key: Any) -> None:
        self.arn: str = key.arn
        self.credentials: Credentials = key.create_credentials()
        self._policies = [_without_conditional_allows(IAMPolicy(policy)) for policy in key.collect_policies()]
        # Decisions by (action, resource). The policies are fixed for this object's life: a call to
        # IAM or STS replaces every Principal (``_principals``), so a changed policy is re-read.
        self._decisions: dict[tuple[str, str], bool] = {}

    def allows(self, action: str, resource: str) -> bool:
        decision = self._decisions.get((action, resource))
        if decision is None:
            decision = self._decisions[(action, resource)] = self._evaluate(action, resource)
        return decision

    def _evaluate(self, action: str, resource: str) -> bool:
        permitted = False
        for policy in self._policies:
            result = policy.is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return False
            permitted = permitted or result == PermissionResult.PERMITTED
        return permitted


# Role sessions by (access key, session token). A call to IAM or STS may change a role's policies
# or sessions, so each one empties the cache (``IamEnforcer._signed_request``).
_principals: dict[tuple[str, str | None], Principal | None] = {}


def _without_conditional_allows(policy: IAMPolicy) -> IAMPolicy:
    """Drop Allow statements with a Condition: the request's context keys are unknown here.

    moto would count such a statement as an explicit Deny when its condition cannot be checked;
    AWS would at most not apply it. Dropping it keeps the evaluation strict without turning an
    Allow into a Deny. A Deny with a Condition stays and always applies (strict too).
    """
    statements = policy._policy_json["Statement"]  # a moto internal, see MOTO_INTERNALS
    statements = statements if isinstance(statements, list) else [statements]
    policy._policy_json["Statement"] = [
        statement for statement in statements if not (statement.get("Effect") == "Allow" and "Condition" in statement)
    ]
    return policy


def find_principal(access_key: str, session_token: str | None) -> Principal | None:
    """The role session of ``access_key``; None for a key moto did not issue (the developer's)."""
    cache_key = (access_key, session_token)
    if cache_key not in _principals:
        _principals[cache_key] = _lookup_principal(access_key, session_token)
    return _principals[cache_key]


def _lookup_principal(access_key: str, session_token: str | None) -> Principal | None:
    headers = {"X-Amz-Security-Token": session_token} if session_token else {}
    try:
        key = create_access_key(account_id=ACCOUNT_ID, partition="aws", access_key_id=access_key, headers=headers)
    except CreateAccessKeyFailure as failure:
        if failure.reason == "InvalidToken":
            raise Refused(*_invalid_token()) from None
        return None
    return Principal(key)


def _invalid_token() -> tuple[int, list[tuple[str, str]], bytes]:
    error = S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    return error.status, [("Content-Type", "application/xml")], s3_error_xml(error, _request_id())


def _request_id() -> str:
    return uuid.uuid4().hex[:16].upper()


class IamEnforcer:
    """WSGI middleware: refuses what the caller's role does not allow, passes the rest to moto."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            rewrite = self.authorize(environ)
        except Refused as refused:
            start_response(f"{refused.status} {_REASONS.get(refused.status, 'Error')}", refused.headers)
            return [b"" if environ["REQUEST_METHOD"] == "HEAD" else refused.body]
        if rewrite is None:
            return self.app(environ, start_response)
        return rewrite(self.app, environ, start_response)

    # -- the request --------------------------------------------------------------------------

    def authorize(self, environ: dict[str, Any]) -> Rewrite | None:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if method == "OPTIONS" or path.startswith("/moto-api"):
            return None  # CORS preflights are answered from the bucket's CORS rules; moto's own API
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
        query = environ.get("QUERY_STRING", "")
        headers = {name[5:].replace("_", "-").lower(): value for name, value in environ.items() if name[:5] == "HTTP_"}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        authorization = headers.get("authorization", "")
        if authorization:
            return self._signed_request(environ, method, raw_uri, headers, authorization)
        if "X-Amz-Signature=" in query or "X-Amz-Credential=" in query:
            return self._presigned_url(method, raw_uri, headers)
        if method == "POST" and headers.get("content-type", "").startswith("multipart/form-data"):
            return self._post_form(environ, raw_uri, headers)
        if "x-amz-target" in headers:
            missing = "Request is missing Authentication Token"
            raise Refused(*_json_error("MissingAuthenticationTokenException", missing))
        raise Refused(*_s3_refusal(S3Error(403, "AccessDenied", "Access Denied"), method))

    def _signed_request(
        self, environ: dict[str, Any], method: str, raw_uri: str, headers: dict[str, str], authorization: str
    ) -> Rewrite | None:
        try:
            parts = parse_authorization(authorization)
            credential = Credential.parse(parts["Credential"])
        except S3Error as error:
            raise Refused(*_s3_refusal(error, method)) from None
        if credential.service in ("iam", "sts"):
            _principals.clear()
        principal = find_principal(credential.access_key, headers.get("x-amz-security-token"))
        if principal is None:
            return None  # the developer's credentials: everything is allowed, as before
        s3 = credential.service == "s3"
        # The body is needed for DynamoDB's payload hash and its table names, and for DeleteObjects.
        body = b""
        if not s3 or ("delete" in _query_names(raw_uri) and method == "POST"):
            body = _read_body(environ)
        expected = header_signature(
            principal.credentials,
            credential,
            method=method,
            raw_uri=raw_uri,
            headers=headers,
            signed_headers=parts["SignedHeaders"].split(";"),
            body=body,
        )
        if not signatures_match(expected, parts["Signature"]):
            if s3:
                raise Refused(*_s3_refusal(_signature_mismatch(), method))
            raise Refused(
                *_json_error(
                    "InvalidSignatureException",
                    "The request signature we calculated does not match the signature you provided.",
                )
            )
        if s3:
            return self._check_s3(principal, method, raw_uri, headers, body)
        if credential.service == "dynamodb":
            checks = dynamodb_checks(headers.get("x-amz-target", ""), body)
        elif credential.service == "secretsmanager":
            checks = secretsmanager_checks(headers.get("x-amz-target", ""), body)
        else:
            action = headers.get("x-amz-target", "").rpartition(".")[2] or dict(parse_qsl(body.decode())).get("Action")
            # Other services: checked against "*" (their resource ARNs are not worked out here);
            # sts:GetCallerIdentity is always allowed, as in AWS.
            checks = [] if action == "GetCallerIdentity" else [(f"{credential.service}:{action}", "*")]
        for action, resource in checks:
            if not principal.allows(action, resource):
                raise Refused(*_json_error("AccessDeniedException", _denied_message(principal, action, resource)))
        return None

    def _check_s3(
        self, principal: Principal, method: str, raw_uri: str, headers: dict[str, str], body: bytes
    ) -> Rewrite | None:
        bucket, key = _bucket_and_key(raw_uri)
        names = _query_names(raw_uri)
        if method == "POST" and key is None and "delete" in names:
            keys = [unquote_xml(match) for match in re.findall(rb"<Key>(.*?)</Key>", body, re.DOTALL)]
            denied = [k for k in keys if not principal.allows("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{k}")]
            return DeniedKeys(denied, body) if denied else None
        for action, resource in s3_checks(method, bucket, key, names, headers):
            if not principal.allows(action, resource):
                denied = S3Error(403, "AccessDenied", _denied_message(principal, action, resource))
                raise Refused(*_s3_refusal(denied, method))
        return None

    def _presigned_url(self, method: str, raw_uri: str, headers: dict[str, str]) -> None:
        params = dict(parse_qsl(raw_uri.partition("?")[2], keep_blank_values=True))
        try:
            if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
                unsupported = 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'
                raise S3Error(400, "AuthorizationQueryParametersError", unsupported)
            credential = Credential.parse(params.get("X-Amz-Credential", ""))
            check_presigned_url_times(params)
        except S3Error as error:
            raise Refused(*_s3_refusal(error, method)) from None
        principal = find_principal(credential.access_key, params.get("X-Amz-Security-Token"))
        if principal is None:
            return None
        host = headers.get("host", "")
        expected, _ = query_signature(
            principal.credentials, credential, method=method, raw_uri=raw_uri, host=host, headers=headers
        )
        if not signatures_match(expected, params.get("X-Amz-Signature", "")):
            raise Refused(*_s3_refusal(_signature_mismatch(), method))
        bucket, key = _bucket_and_key(raw_uri)
        for action, resource in s3_checks(method, bucket, key, _query_names(raw_uri), headers):
            if not principal.allows(action, resource):
                raise Refused(*_s3_refusal(S3Error(403, "AccessDenied", "Access Denied"), method))
        return None

    def _post_form(self, environ: dict[str, Any], raw_uri: str, headers: dict[str, str]) -> None:
        body = _read_body(environ)
        probe = {**environ, "wsgi.input": io.BytesIO(body)}
        _, form, files = parse_form_data(probe)
        fields = {name.lower(): value for name, value in form.items()}
        upload = files.get("file")
        data = upload.stream.read() if upload is not None else fields.pop("file", "").encode()
        if upload is not None and "key" in fields:
            fields["key"] = fields["key"].replace("${filename}", upload.filename or "")
        bucket, _ = _bucket_and_key(raw_uri)
        try:
            if "policy" not in fields or "x-amz-signature" not in fields:
                raise S3Error(403, "AccessDenied", "Access Denied")  # an anonymous upload to a private bucket
            if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
                raise S3Error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
            credential = Credential.parse(fields.get("x-amz-credential", ""))
            policy = decode_policy(fields["policy"])
            principal = find_principal(credential.access_key, fields.get("x-amz-security-token"))
            if principal is not None:
                amz_date = fields.get("x-amz-date", "")
                expected = post_signature(principal.credentials, credential, fields["policy"], amz_date)
                if not signatures_match(expected, fields["x-amz-signature"]):
                    raise _signature_mismatch()
            check_post_policy(policy, fields, bucket, len(data))
            resource = f"arn:aws:s3:::{bucket}/{fields.get('key', '')}"
            if principal is not None and not principal.allows("s3:PutObject", resource):
                raise S3Error(403, "AccessDenied", "Access Denied")
        except S3Error as error:
            raise Refused(*_s3_refusal(error, "POST")) from None


# -- what a request does, in IAM's terms -------------------------------------------------------


def dynamodb_checks(target: str, body: bytes) -> list[tuple[str, str]]:
    """(action, resource) pairs AWS evaluates for one DynamoDB call."""
    operation = target.rpartition(".")[2]
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        request = {}

    def table_arn(name: str) -> str:
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/{name}"

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table_arn(name)) for name in request.get("RequestItems", {})]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "Get": "GetItem"}
        actions["ConditionCheck"] = "ConditionCheckItem"
        checks = []
        for item in request.get("TransactItems", []):
            for kind, detail in item.items():
                checks.append((f"dynamodb:{actions.get(kind, kind)}", table_arn(detail.get("TableName", ""))))
        return checks
    if "TableName" in request:
        resource = table_arn(request["TableName"])
        if request.get("IndexName") and operation in ("Query", "Scan"):
            resource += f"/index/{request['IndexName']}"
        return [(f"dynamodb:{operation}", resource)]
    if "ResourceArn" in request:
        return [(f"dynamodb:{operation}", request["ResourceArn"])]
    return [(f"dynamodb:{operation}", "*")]


def secretsmanager_checks(target: str, body: bytes) -> list[tuple[str, str]]:
    """(action, resource) for a Secrets Manager call: the secret it names (by ARN or by name)."""
    operation = target.rpartition(".")[2]
    try:
        secret_id = str(json.loads(body or b"{}").get("SecretId", ""))
    except (ValueError, AttributeError):
        secret_id = ""
    if not secret_id:
        return [(f"secretsmanager:{operation}", "*")]
    arn = (
        secret_id
        if secret_id.startswith("arn:")
        else f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:{secret_id}"
    )
    return [(f"secretsmanager:{operation}", arn)]


def s3_checks(
    method: str, bucket: str, key: str | None, names: set[str], headers: dict[str, str]
) -> list[tuple[str, str]]:
    """(action, resource) pairs S3 evaluates for one REST call (moto's table of S3 actions)."""
    if not bucket:
        return [("s3:ListAllMyBuckets", "*")]
    kind, resource = ("BUCKET", f"arn:aws:s3:::{bucket}") if key is None else ("KEY", f"arn:aws:s3:::{bucket}/{key}")
    table = ACTION_MAP[kind].get(method, {})
    action = next((action for name, action in table.items() if name in names), table.get("DEFAULT"))
    if action is None:
        action = "PutObject" if method == "POST" else f"{method.title()}Object"
    checks = [(f"s3:{action}", resource)]
    source = headers.get("x-amz-copy-source")
    if source and method == "PUT":  # a copy also reads its source
        checks.append(("s3:GetObject", f"arn:aws:s3:::{unquote(source.lstrip('/').split('?')[0])}"))
    return checks


def _bucket_and_key(raw_uri: str) -> tuple[str, str | None]:
    path = raw_uri.partition("?")[0].lstrip("/")
    bucket, slash, key = path.partition("/")
    return unquote(bucket), (unquote(key) if slash and key else None)


def _query_names(raw_uri: str) -> set[str]:
    query = raw_uri.partition("?")[2]
    return {pair.partition("=")[0] for pair in query.split("&") if pair}


def unquote_xml(value: bytes) -> str:
    return unescape(value.decode(), {"&quot;": '"', "&apos;": "'"})


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    body = stream.read(int(length)) if length else stream.read()
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    return bytes(body)


# -- answers -----------------------------------------------------------------------------------


_REASONS = {400: "Bad Request", 403: "Forbidden"}


def _signature_mismatch() -> S3Error:
    return S3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )


def _denied_message(principal: Principal, action: str, resource: str) -> str:
    return (
        f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def _s3_refusal(error: S3Error, method: str) -> tuple[int, list[tuple[str, str]], bytes]:
    request_id = _request_id()
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    return error.status, headers, b"" if method == "HEAD" else s3_error_xml(error, request_id)


def _json_error(code: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"__type": f"com.amazon.coral.service#{code}", "Message": message}).encode()
    return 400, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", _request_id())], body


# -- requests that need their answer changed ---------------------------------------------------


class Rewrite:
    def __call__(self, app: WsgiApp, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raise NotImplementedError


class DeniedKeys(Rewrite):
    """``DeleteObjects`` with keys the role may not delete: S3 deletes the others and reports these."""

    def __init__(self, denied: list[str], body: bytes) -> None:
        self.denied = denied
        self.body = body

    def __call__(self, app: WsgiApp, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        errors = "".join(
            f"<Error><Key>{escape(key)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            for key in self.denied
        )
        denied = set(self.denied)

        def keep(match: re.Match[bytes]) -> bytes:
            return b"" if unquote_xml(match.group(1)) in denied else match.group(0)

        remaining = re.sub(rb"<Object>\s*<Key>(.*?)</Key>.*?</Object>", keep, self.body, flags=re.DOTALL)
        if b"<Object>" not in remaining:  # nothing the role may delete: S3 answers with the errors only
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{errors}</DeleteResult>'
            ).encode()
            start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(xml)))])
            return [xml]
        environ["wsgi.input"] = io.BytesIO(remaining)
        environ["CONTENT_LENGTH"] = str(len(remaining))
        for name in [name for name in environ if name == "HTTP_CONTENT_MD5" or name.startswith("HTTP_X_AMZ_CHECKSUM_")]:
            del environ[name]  # they were of the whole list
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(app(environ, capture))
        body = body.replace(b"</DeleteResult>", errors.encode() + b"</DeleteResult>")
        headers = [(name, value) for name, value in captured["headers"] if name.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]
