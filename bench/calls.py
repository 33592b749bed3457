"""AWS calls per operation, through the real handlers against moto, beside the design minimum.

Every route runs as API Gateway would invoke it (a proxy event, Cognito claims on writes) on the
handler modules imported the way Lambda imports them. The minimum is what the design needs:

- upload:   1 S3 PutObject per stored object (the original, and its thumbnail if the image has
            one) + 1 DynamoDB TransactWriteItems (metadata and tag rows together); the same with
            the image as the raw request body
- direct upload, start: 1 PutItem (the pending row) + a pre-signed POST form signed locally
- direct upload, finalise (the S3 event): 1 GetItem (the pending row) + 1 GetObject + the
            upload's PutObjects + 1 TransactWriteItems + 1 DeleteObject (the uploaded file)
- get:      1 GetItem
- download: 1 GetItem + a pre-signed URL signed locally (no S3 request)
- list by user, by tag or by user+tag: 1 Query per page (the tag rows carry the listed fields)
- edit:     1 GetItem (owner, version, old tags) + 1 TransactWriteItems
- delete:   1 GetItem + 1 TransactWriteItems + 1 S3 request for all the image's objects
            (DeleteObject for one, DeleteObjects for several)
- a request refused for bad input: no AWS call at all; an unknown id: the one read that tells,
  and for a delete also the S3 request that finishes a delete whose objects were left behind
  (the design lets a retried delete complete a half-done one).

The number of stored objects is read from the upload's answer (``variants``), so the minimum
follows the design rather than the code under test.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from moto import mock_aws

from localapi.resources import create_resources

from . import harness

PAGE = 20


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    resource: str
    status: int
    minimum: dict[str, int]
    minimum_signatures: int = 0


def minimum_for(name: str, objects: int = 1) -> tuple[dict[str, int], int]:
    """The design minimum of an operation: (AWS calls by name, local signatures).

    ``objects``: how many S3 objects an image has (the original, a thumbnail...).
    """
    delete_objects = {"s3.DeleteObject": 1} if objects == 1 else {"s3.DeleteObjects": 1}
    table: dict[str, tuple[dict[str, int], int]] = {
        "upload": ({"dynamodb.TransactWriteItems": 1, "s3.PutObject": objects}, 0),
        "direct upload, start": ({"dynamodb.PutItem": 1}, 1),
        "direct upload, finalise": (
            {
                "dynamodb.GetItem": 1,
                "dynamodb.TransactWriteItems": 1,
                "s3.DeleteObject": 1,
                "s3.GetObject": 1,
                "s3.PutObject": objects,
            },
            0,
        ),
        "get": ({"dynamodb.GetItem": 1}, 0),
        "download": ({"dynamodb.GetItem": 1}, 1),
        "list by user": ({"dynamodb.Query": 1}, 0),
        "list by tag": ({"dynamodb.Query": 1}, 0),
        "list by user+tag": ({"dynamodb.Query": 1}, 0),
        "edit": ({"dynamodb.GetItem": 1, "dynamodb.TransactWriteItems": 1}, 0),
        "delete": ({"dynamodb.GetItem": 1, "dynamodb.TransactWriteItems": 1, **delete_objects}, 0),
        "delete, unknown id": ({"dynamodb.GetItem": 1, **delete_objects}, 0),
    }
    calls, signatures = table[name]
    return dict(sorted(calls.items())), signatures


def verdict(measured: dict[str, Any], minimum: dict[str, int], minimum_signatures: int) -> str:
    if measured["calls"] == minimum and measured["local_signatures"] == minimum_signatures:
        return "minimum"
    extra = measured["call_total"] - sum(minimum.values())
    return f"{extra:+d} call(s) vs minimum" if extra else "different calls than minimum"


class Scenario:
    """The handlers of one moto account, and what each request cost."""

    def __init__(self, template: Any, meter: harness.AwsMeter) -> None:
        self.meter = meter
        self.routes = harness.route_table(template)
        self.functions = {spec.logical_id: harness.load_function(spec, meter) for spec in template.functions()}
        self.rows: list[dict[str, Any]] = []

    def has_route(self, method: str, resource: str) -> bool:
        return (method, resource) in self.routes

    def invoke(self, logical_id: str, event: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Invoke a function with a non-API event (e.g. S3's); returns (result, measured cost)."""
        with self.meter.measure() as measurement:
            result = self.functions[logical_id].invoke(event)
        return result, measurement.summary()

    def request(self, method: str, resource: str, **event_options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Invoke the routed handler; returns (proxy response, measured cost)."""
        function = self.functions[self.routes[(method, resource)].logical_id]
        event = harness.api_event(method, resource, **event_options)
        with self.meter.measure() as measurement:
            response = function.invoke(event)
        return response, measurement.summary()

    def record(
        self,
        operation: str,
        response: dict[str, Any],
        cost: dict[str, Any],
        *,
        expected_status: int | None,
        minimum: dict[str, int],
        minimum_signatures: int = 0,
        note: str = "",
    ) -> None:
        """Keep one row; ``expected_status`` None is an event that is not an API request."""
        status = response.get("statusCode") if expected_status is not None else None
        if status != expected_status:
            raise AssertionError(f"{operation}: status {status}, expected {expected_status}: {response}")
        self.rows.append(
            {
                "operation": operation,
                "status": status if status is not None else "event",
                **cost,
                "minimum": {"calls": minimum, "local_signatures": minimum_signatures},
                "verdict": verdict(cost, minimum, minimum_signatures),
                "note": note,
            }
        )


def upload_body(user_id: str, tags: list[str], data: bytes) -> str:
    return json.dumps(
        {
            "user_id": user_id,
            "title": "a photo",
            "tags": tags,
            "content_type": "image/png",
            "image_base64": base64.b64encode(data).decode("ascii"),
            "allow_duplicate": True,  # the same bytes each round: measure a store, not a duplicate
        }
    )


def run(*, page: int = PAGE) -> dict[str, Any]:
    template = harness.load_template()
    png = harness.small_png()
    meter = harness.AwsMeter()
    with mock_aws(), harness.metered_logs(meter):
        create_resources(template, *harness.admin_clients(), harness.admin_client("secretsmanager"))
        scenario = Scenario(template, meter)

        # Enough photos that every listing has a second page: alice has page + 5 photos tagged
        # "sunset"; bob adds 3 more "sunset" photos.
        uploads = []
        for index in range(page + 8):
            user = "alice" if index < page + 5 else "bob"
            body = upload_body(user, ["sunset", "beach"], png)
            uploads.append(scenario.request("POST", "/images", body=body, caller=user))
        response, cost = uploads[-1]
        first = json.loads(uploads[0][0]["body"])
        variants = first.get("variants", ["original"])
        minimum, _ = minimum_for("upload", len(variants))
        note = f"2 tags; objects: {', '.join(variants)}"
        scenario.record("upload", response, cost, expected_status=201, minimum=minimum, note=note)
        costs = {json.dumps(c["calls"], sort_keys=True) for _, c in uploads}
        if len(costs) != 1:
            raise AssertionError(f"uploads cost different calls: {costs}")
        response, cost = scenario.request(
            "POST",
            "/images",
            body=png,
            content_type="image/png",
            query={"tags": "sunset", "allow_duplicate": "true"},
            caller="alice",
        )
        scenario.record("upload, raw body", response, cost, expected_status=201, minimum=minimum, note="1 tag")
        if scenario.has_route("POST", "/images/uploads"):
            _direct_upload(scenario, template, png, len(variants))
        _reads(scenario, first["image_id"], variants, page)
        _writes(scenario, first["image_id"], len(variants))
        _refusals(scenario, png, len(variants))
    return {"page_size": page, "operations": scenario.rows}


def _direct_upload(scenario: Scenario, template: Any, png: bytes, objects: int) -> None:
    """POST /images/uploads, the client's own POST to S3 (not a function's call), then the S3 event."""
    body = json.dumps({"content_type": "image/png", "title": "sent straight to S3", "tags": ["sunset"]})
    response, cost = scenario.request("POST", "/images/uploads", body=body, caller="alice")
    minimum, signatures = minimum_for("direct upload, start")
    scenario.record(
        "direct upload, start", response, cost, expected_status=201, minimum=minimum, minimum_signatures=signatures
    )
    started = json.loads(response["body"])
    key = started["upload"]["fields"]["key"]
    bucket = scenario.routes[("POST", "/images")].environment["S3_BUCKET_NAME"]
    _, s3 = harness.admin_clients()
    s3.put_object(Bucket=bucket, Key=key, Body=png, ContentType="image/png")  # what the browser's POST does
    handler = next(
        logical_id
        for logical_id, resource in template.resources.items()
        if any(event.get("Type") == "S3" for event in resource.get("Properties", {}).get("Events", {}).values())
    )
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Post",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": len(png)}},
            }
        ]
    }
    result, cost = scenario.invoke(handler, event)
    if result.get("finalised") != [started["image_id"]]:
        raise AssertionError(f"direct upload was not finalised: {result}")
    minimum, _ = minimum_for("direct upload, finalise", objects)
    scenario.record("direct upload, finalise", {}, cost, expected_status=None, minimum=minimum, note="the S3 event")


def _reads(scenario: Scenario, image_id: str, variants: list[str], page: int) -> None:
    ids = {"image_id": image_id}
    response, cost = scenario.request("GET", "/images/{image_id}", path_parameters=ids)
    scenario.record("get", response, cost, expected_status=200, minimum=minimum_for("get")[0])
    minimum, signatures = minimum_for("download")
    for variant in variants:
        query = {} if variant == "original" else {"variant": variant}
        response, cost = scenario.request("GET", "/images/{image_id}/download", path_parameters=ids, query=query)
        name = "download" if variant == "original" else f"download, {variant}"
        scenario.record(name, response, cost, expected_status=200, minimum=minimum, minimum_signatures=signatures)

    given: set[str] = set()  # thumbnails whose URL the list function gave in this run (a minute)
    for name, filters in (
        ("list by user", {"user_id": "alice"}),
        ("list by tag", {"tag": "sunset"}),
        ("list by user+tag", {"user_id": "alice", "tag": "sunset"}),
    ):
        token = None
        for number in (1, 2):
            query = {**filters, "limit": str(page), **({"next_token": token} if token else {})}
            response, cost = scenario.request("GET", "/images", query=query)
            listed = json.loads(response["body"])
            # One local signature (no AWS call) per listed image whose thumbnail URL the function
            # has not given in the last minute: a URL that young is given again (recent_urls).
            ids = {item["image_id"] for item in listed["items"]}
            scenario.record(
                f"{name}, page {number}",
                response,
                cost,
                expected_status=200,
                minimum=minimum_for(name)[0],
                minimum_signatures=len(ids - given),
            )
            given |= ids
            token = listed["next_token"]
            if not token and number == 1:
                raise AssertionError(f"{name}: expected a second page")


def _writes(scenario: Scenario, image_id: str, objects: int) -> None:
    ids = {"image_id": image_id}
    if scenario.has_route("PATCH", "/images/{image_id}"):
        body = json.dumps({"title": "renamed", "tags": ["sunset", "sea"]})
        response, cost = scenario.request("PATCH", "/images/{image_id}", path_parameters=ids, body=body, caller="alice")
        scenario.record(
            "edit", response, cost, expected_status=200, minimum=minimum_for("edit")[0], note="1 tag out, 1 in"
        )
    response, cost = scenario.request("DELETE", "/images/{image_id}", path_parameters=ids, caller="alice")
    scenario.record("delete", response, cost, expected_status=204, minimum=minimum_for("delete", objects)[0])


def _refusals(scenario: Scenario, png: bytes, objects: int) -> None:
    """Requests that fail: bad input costs nothing, an unknown id costs the one read that tells."""
    unknown = {"image_id": "01JDQ8ZB3F2T6X8W4N5R7K9M0Z"}
    response, cost = scenario.request("GET", "/images/{image_id}", path_parameters=unknown)
    scenario.record("get, unknown id (404)", response, cost, expected_status=404, minimum={"dynamodb.GetItem": 1})
    response, cost = scenario.request("DELETE", "/images/{image_id}", path_parameters=unknown, caller="alice")
    minimum, _ = minimum_for("delete, unknown id", objects)
    note = "finishes a half-done delete"
    scenario.record("delete, unknown id (404)", response, cost, expected_status=404, minimum=minimum, note=note)
    response, cost = scenario.request("GET", "/images/{image_id}", path_parameters={"image_id": "nope"})
    scenario.record("get, malformed id (400)", response, cost, expected_status=400, minimum={})
    bad = upload_body("alice", [], b"not an image" + png[:8])
    response, cost = scenario.request("POST", "/images", body=bad, caller="alice")
    scenario.record("upload, not an image (400)", response, cost, expected_status=400, minimum={})
    response, cost = scenario.request("GET", "/images", query={"user_id": "alice", "next_token": "edited.token"})
    scenario.record("list, bad next_token (400)", response, cost, expected_status=400, minimum={})
