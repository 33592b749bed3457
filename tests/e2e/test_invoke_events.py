"""Every events/ file through `make invoke`'s code path (`python -m localapi invoke`), against one
emulation that holds the example image the events refer to."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from localapi.__main__ import main as localapi_main
from localapi.aws_backend import AwsEmulation
from localapi.template import Template
from tests.support.environment import ROOT
from tests.support.events import EXPECTED, function_for, seed_example_image_into


@pytest.fixture(scope="module")
def emulation() -> Iterator[AwsEmulation]:
    running = AwsEmulation(Template(ROOT / "template.yaml")).start()
    seed_example_image_into(running)
    yield running
    running.stop()


# delete.json removes the example image, so it runs last.
ORDER = sorted(EXPECTED, key=lambda name: name == "delete.json")


@pytest.mark.parametrize("name", ORDER)
def test_event_through_make_invoke(name: str, emulation: AwsEmulation, capsys: pytest.CaptureFixture[str]) -> None:
    event_path = ROOT / "events" / name
    function = function_for(json.loads(event_path.read_text()))
    assert localapi_main(["invoke", function, str(event_path), "--endpoint", emulation.endpoint_url]) == 0
    response = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    status, code = EXPECTED[name]
    if status == 0:  # an S3 event, not an API request
        assert response == {"finalised": []}
        return
    assert response["statusCode"] == status, response
    if code:
        assert json.loads(response["body"])["code"] == code
