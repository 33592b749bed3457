"""Every events/ file through ``make sam-invoke`` (the real SAM CLI, a Lambda-like container) and
through ``make invoke`` (the Docker-free path), against one emulation holding the example image:
the two must give the same status, the documented one. Any difference is a bug in one of them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest
from sam_local import bridge_gateway

from localapi.aws_backend import AwsEmulation
from localapi.template import Template
from tests.support.environment import ROOT
from tests.support.events import EXPECTED, function_for, seed_example_image_into
from tests.support.sam_local_gaps import needs_docker

pytestmark = needs_docker


@pytest.fixture(scope="module")
def emulation() -> Iterator[AwsEmulation]:
    # On the Docker bridge: the containers reach it there, and so does this machine.
    running = AwsEmulation(Template(ROOT / "template.yaml"), host=bridge_gateway()).start()
    yield running
    running.stop()


def seed(emulation: AwsEmulation) -> None:
    """Empty the tables (whatever the previous path stored: an upload of the same photo would
    make the next one a duplicate, 200 instead of 201), then store the example image the get,
    download, edit and delete events name."""
    dynamodb, _ = emulation.clients()
    for definition in emulation.template.table_definitions():
        keys = [k["AttributeName"] for k in definition["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=definition["TableName"]):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=definition["TableName"], Key={k: item[k] for k in keys})
    seed_example_image_into(emulation)


def status_from(target: str, function: str, event: str, endpoint: str) -> tuple[int | str | None, str]:
    """Run ``make TARGET FUNCTION=... EVENT=...``: the response's status, and the whole output.

    The status is the ``statusCode`` of an API Gateway response, 0 for a function that answers
    something else (an S3 event's handler), ``error:TYPE`` when the function failed, ``None`` when
    there is no response at all.
    """
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    run = subprocess.run(
        ["make", "--no-print-directory", "-s", target, f"FUNCTION={function}", f"EVENT={event}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = f"$ make {target} FUNCTION={function} EVENT={event}  (exit {run.returncode})\n{run.stdout}\n{run.stderr}"
    for line in reversed(run.stdout.splitlines()):
        if line.startswith("{"):
            response = json.loads(line)
            if "errorType" in response:
                return f"error:{response['errorType']}", output
            return response.get("statusCode", 0), output
    return None, output


# delete.json removes the example image; it is seeded again before each run anyway, but the
# order keeps the listings of the later events meaningful.
ORDER = sorted(EXPECTED, key=lambda name: name == "delete.json")


@pytest.mark.parametrize("name", ORDER)
def test_sam_invoke_and_make_invoke_agree(name: str, emulation: AwsEmulation) -> None:
    event = f"events/{name}"
    function = function_for(json.loads((ROOT / event).read_text()))
    seed(emulation)
    docker_free, docker_free_output = status_from("invoke", function, event, emulation.endpoint_url)
    seed(emulation)
    in_container, container_output = status_from("sam-invoke", function, event, emulation.endpoint_url)
    assert in_container == docker_free, f"make sam-invoke gave {in_container}, make invoke gave {docker_free}\n" + (
        container_output + docker_free_output
    )
    assert in_container == EXPECTED[name][0], container_output
