"""Pre-signed GET URLs, byte for byte botocore's, at a fraction of its cost per URL.

``generate_presigned_url`` spends most of its ~180 µs per URL on work whose answer is the same
for every key of one bucket: parameter validation and serialisation, the endpoint ruleset, events.
A page of the list function signs 20 thumbnail URLs. What differs between two URLs of one bucket
at one instant is the key's path and the signature, so:

- Once per container, one ``generate_presigned_url`` of a probe key tells what botocore resolves
  for this client: the bucket's URL prefix (its regional virtual host on AWS, path style on an
  emulator: ``aws.make_clients``), the region and service of the credential scope, and the
  signature version. The client's ``before-sign`` event hands over the client's request signer,
  whose auth objects carry the client's own credentials (frozen per batch, so refreshable
  credentials refresh): the same credentials as every other call of that client.
- Per batch, botocore's ``S3SigV4QueryAuth.add_auth`` signs the first key. The other keys reuse
  its instant and its query string, and are signed by the same auth object's canonical request,
  string to sign and signature: what ``add_auth`` does, less rebuilding the same query string.
  No cryptography is written here.
- The probe's own URL, rebuilt that way, must equal botocore's. If it does not (another
  signature version, an access point, a botocore that signs differently), every URL comes from
  ``generate_presigned_url``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.signers import RequestSigner
from botocore.utils import percent_encode

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

_PROBE_KEY = "probe"
_SIGNATURE = "&X-Amz-Signature="  # botocore's query signer appends the signature last
_SIGNATURE_VERSION = "s3v4-query"  # what botocore pre-signs with when a client says s3v4


@dataclass(frozen=True)
class _Template:
    """What every GET URL of the bucket shares, as botocore resolved it for the client."""

    prefix: str  # the URL up to the key: https://BUCKET.s3.REGION.amazonaws.com/ or http://HOST/BUCKET/
    host: str  # the host header botocore signs (default ports dropped)
    region: str
    service: str
    signer: RequestSigner

    def auth(self, expires_in: int) -> S3SigV4QueryAuth:
        """The auth object the client's signer makes, with the credentials of this moment."""
        auth: S3SigV4QueryAuth = self.signer.get_auth_instance(
            self.service, self.region, _SIGNATURE_VERSION, expires=expires_in
        )
        return auth

    def request(self, key: str, query: str = "") -> AWSRequest:
        if not key:
            raise ValueError("an empty key would sign a GET of the bucket itself (its listing)")
        # As botocore serialises GetObject's greedy {Key+}: "/" and "~" stay, all else is escaped.
        url = self.prefix + percent_encode(key, safe="/~")
        # The host header saves botocore deriving it from the URL, twice per URL.
        return AWSRequest(method="GET", url=f"{url}?{query}" if query else url, headers={"host": self.host})


def _signed(auth: S3SigV4QueryAuth, request: AWSRequest, timestamp: str) -> str:
    """``request`` (its URL already holding the auth query string) signed at ``timestamp``."""
    request.context["timestamp"] = timestamp
    signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return f"{request.url}{_SIGNATURE}{signature}"


class DownloadUrls:
    """Pre-signed GET URLs of the objects of one bucket, through one S3 client."""

    def __init__(self, s3_client: S3Client, bucket_name: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket_name
        self._template: _Template | None = None
        self._resolved = False  # resolved lazily: a function that signs nothing pays nothing

    def urls(self, keys: Sequence[str], *, expires_in: int) -> list[str]:
        """A URL per key, in order, signed at one instant: each is valid for ``expires_in`` seconds."""
        if not self._resolved:
            self._template, self._resolved = self._resolve(), True
        template = self._template
        if template is None:
            return [self._botocore_url(key, expires_in) for key in keys]
        if not keys:
            return []
        auth = template.auth(expires_in)
        first = template.request(keys[0])
        auth.add_auth(first)
        first_url = str(first.url)  # typed optional: an AWSRequest may be made without one
        query = first_url.partition("?")[2].rpartition(_SIGNATURE)[0]
        timestamp = first.context["timestamp"]
        return [first_url, *(_signed(auth, template.request(key, query), timestamp) for key in keys[1:])]

    def _botocore_url(self, key: str, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )

    def _resolve(self) -> _Template | None:
        """The template of this client's URLs, if rebuilding botocore's probe URL with it gives it back."""
        seen: dict[str, Any] = {}

        def capture(request_signer: RequestSigner, signature_version: str, **_: Any) -> None:
            seen.update(signer=request_signer, version=signature_version)

        event = "before-sign.s3.GetObject"
        self._s3.meta.events.register(event, capture)
        try:
            probe = self._botocore_url(_PROBE_KEY, 60)
        finally:
            self._s3.meta.events.unregister(event, capture)
        base, _, query = probe.partition("?")
        params = parse_qs(query)
        scope = params.get("X-Amz-Credential", [""])[0].split("/")
        unsigned_query = query.rpartition(_SIGNATURE)[0]
        if seen.get("version") != _SIGNATURE_VERSION or not base.endswith(f"/{_PROBE_KEY}") or len(scope) != 5:
            return None
        prefix, region, service = base.removesuffix(_PROBE_KEY), scope[2], scope[3]
        signer: RequestSigner = seen["signer"]
        auth: S3SigV4QueryAuth = signer.get_auth_instance(service, region, _SIGNATURE_VERSION, expires=60)
        host = str(auth.headers_to_sign(AWSRequest(method="GET", url=prefix))["host"])
        template = _Template(prefix=prefix, host=host, region=region, service=service, signer=signer)
        rebuilt = _signed(auth, template.request(_PROBE_KEY, unsigned_query), params.get("X-Amz-Date", [""])[0])
        return template if rebuilt == probe else None
