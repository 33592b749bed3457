"""What CloudFormation would really deploy: template.yaml after SAM's transform, per parameter set.

No AWS account is reachable here, and none of these properties shows in the local mode: they
live in what SAM generates (deployments, stages) or in how AWS names and times things. The
template is transformed offline by SAM's own translator (scripts/transform_template.py, run
with the tools environment that has the SAM CLI), and the tests read the generated resources.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from image_service.config import MAX_DIRECT_UPLOAD_BYTES
from image_service.imaging import MAX_PIXELS
from tests.support.environment import ROOT, TEMPLATE

TOOLS_PYTHON = ROOT / ".venv-tools" / "bin" / "python"
pytestmark = pytest.mark.skipif(
    not TOOLS_PYTHON.exists(), reason="needs the SAM CLI's translator in .venv-tools (make tools-env)"
)

DEPLOYED_AT = 1_767_225_600  # 2026-01-01: the first deploy
REDEPLOYED_AT = DEPLOYED_AT + 600  # the same stack, ten minutes later, with one parameter changed
GATEWAY_TIMEOUT_SECONDS = 29
PARAMETER_CHANGES = {
    "AuthMode": {"AuthMode": "none"},
    "PublicReads": {"PublicReads": "false"},
    "CorsAllowOrigin": {"CorsAllowOrigin": "https://gallery.example.org"},
}


@cache
def transformed(region: str = "eu-west-1", at: int = DEPLOYED_AT, **parameters: str) -> dict[str, Any]:
    return transform_all(((region, at, tuple(sorted(parameters.items()))),))[0]


def transform_all(cases: tuple[tuple[str, int, tuple[tuple[str, str], ...]], ...]) -> list[dict[str, Any]]:
    request = [{"region": region, "time": at, "parameters": dict(params)} for region, at, params in cases]
    result = subprocess.run(
        [str(TOOLS_PYTHON), str(ROOT / "scripts" / "transform_template.py"), json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return list(json.loads(result.stdout))


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


class Stack:
    """Enough of CloudFormation's intrinsic functions to evaluate names and conditions."""

    def __init__(self, template: dict[str, Any], name: str, region: str, **parameters: str) -> None:
        defaults = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        self.refs = {
            **defaults,
            **parameters,
            "AWS::StackName": name,
            "AWS::Region": region,
            # CloudFormation gives every stack a new UUID.
            "AWS::StackId": f"arn:aws:cloudformation:{region}:123456789012:stack/{name}/{uuid.uuid4()}",
        }
        self.conditions = template.get("Conditions", {})
        # A Systems Manager parameter's Value attribute: the template's way to say a value once.
        for logical_id, resource in of_type(template, "AWS::SSM::Parameter").items():
            self.refs[f"{logical_id}.Value"] = self.value(resource["Properties"]["Value"])

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict) or len(node) != 1:
            return node
        ((fn, arg),) = node.items()
        functions = {
            "Ref": lambda: self.refs[arg],
            "Fn::GetAtt": lambda: self.refs[".".join(arg)],
            "Fn::Select": lambda: self.value(arg[1])[int(arg[0])],
            "Fn::Split": lambda: self.value(arg[1]).split(arg[0]),
            "Fn::Join": lambda: arg[0].join(self.value(arg[1])),
            "Fn::Sub": lambda: self._sub(*((arg, {}) if isinstance(arg, str) else arg)),
            "Fn::If": lambda: self.value(arg[1] if self.condition(arg[0]) else arg[2]),
        }
        return functions[fn]()

    def _sub(self, text: str, names: dict[str, Any]) -> str:
        local = {k: self.value(v) for k, v in names.items()}
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(local.get(m[1]) or self.refs[m[1]]), text)

    def condition(self, name: str) -> bool:
        return self._true(self.conditions[name])

    def _true(self, node: Any) -> bool:
        (fn, arg), = node.items()  # fmt: skip
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::Equals":
            return str(self.value(arg[0])) == str(self.value(arg[1]))
        if fn == "Fn::Not":
            return not self._true(arg[0])
        if fn == "Fn::And":
            return all(self._true(item) for item in arg)
        raise AssertionError(f"not evaluated here: {fn}")


def deployment_of(template: dict[str, Any]) -> str:
    (stage,) = of_type(template, "AWS::ApiGateway::Stage").values()
    deployment = stage["Properties"]["DeploymentId"]["Ref"]
    assert template["Resources"][deployment]["Type"] == "AWS::ApiGateway::Deployment"
    return str(deployment)


@pytest.mark.parametrize("parameter", sorted(PARAMETER_CHANGES))
def test_a_parameter_that_changes_the_api_deploys_it_again(parameter: str) -> None:
    """SAM hashes the definition before parameters are resolved: the same id for every value.

    CloudFormation updates the stage only when the deployment resource is new; with the same
    logical id the stage keeps serving the old definition (e.g. reads stay public after
    PublicReads=false, every write answers 401 after switching AuthMode to cognito).
    """
    first, second = transform_all(
        (
            ("eu-west-1", DEPLOYED_AT, ()),
            ("eu-west-1", REDEPLOYED_AT, tuple(PARAMETER_CHANGES[parameter].items())),
        )
    )
    assert deployment_of(first) != deployment_of(second)
    assert len(of_type(second, "AWS::ApiGateway::Deployment")) == 1


@pytest.mark.parametrize("auth_mode", ["cognito", "none"])
def test_the_api_has_exactly_one_stage_the_configured_one(auth_mode: str) -> None:
    """SAM's default also creates a callable stage named "Stage", unthrottled and unlogged."""
    template = transformed(AuthMode=auth_mode)
    stages = of_type(template, "AWS::ApiGateway::Stage")
    assert [s["Properties"]["StageName"] for s in stages.values()] == [{"Ref": "StageName"}]
    for deployment in of_type(template, "AWS::ApiGateway::Deployment").values():
        assert "StageName" not in deployment["Properties"]  # a deployment's StageName creates a stage
    (stage,) = stages.values()
    assert stage["Properties"]["MethodSettings"] and stage["Properties"]["AccessLogSetting"]


@pytest.mark.parametrize("resource", ["WebOriginAccessControl", "WebResponseHeadersPolicy"])
def test_account_wide_cloudfront_names_are_unique_per_stack_and_bounded(resource: str) -> None:
    """The same stack name in two regions, or a 128-character stack name, must still deploy."""
    template = transformed()
    config_key = {"WebOriginAccessControl": "OriginAccessControlConfig"}.get(resource, "ResponseHeadersPolicyConfig")
    name = template["Resources"][resource]["Properties"][config_key]["Name"]
    longest_region = "ap-southeast-5"
    names = {
        Stack(template, stack_name, region).value(name)
        for stack_name in ("image-service", "s" * 128)
        for region in ("eu-west-1", "us-east-1", longest_region)
    }
    assert len(names) == 6, names
    for value in names:
        assert len(value) <= 64, value  # OAC names stop at 64 characters
        assert re.fullmatch(r"[A-Za-z0-9_-]+", value), value


def test_api_path_functions_stop_well_before_the_gateway_times_out() -> None:
    """A function still running at 29 s: the client gets a 504, retries, and the photo is stored twice."""
    template = transformed()
    functions = of_type(template, "AWS::Lambda::Function")
    behind_api = {
        p["Properties"]["FunctionName"]["Ref"]
        for p in of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    assert behind_api == {"UploadFunction", "ListFunction", "GetFunction", "DeleteFunction"}
    for name in behind_api:
        timeout = functions[name]["Properties"]["Timeout"]
        assert timeout <= GATEWAY_TIMEOUT_SECONDS - 5, (name, timeout)


def test_the_largest_direct_upload_fits_the_function_that_finalises_it() -> None:
    """The finaliser holds the file (about twice, at its peak) and the thumbnail's decoded pixels."""
    parameter = TEMPLATE.body["Parameters"]["MaxDirectUploadBytes"]
    assert parameter["MaxValue"] == MAX_DIRECT_UPLOAD_BYTES  # the code refuses what the template refuses
    memory_mb = transformed()["Resources"]["UploadFunction"]["Properties"]["MemorySize"]
    measured_peak_per_byte = 2.1  # docs/performance.md: 2.08x the file for a 25 MiB direct upload
    pixels = MAX_PIXELS * 4  # RGBA, a format Pillow cannot decode at reduced size
    runtime = 200 * 2**20  # Python, boto3 and Pillow loaded (the process peak's base)
    need = parameter["MaxValue"] * measured_peak_per_byte + pixels + runtime
    assert need <= 0.75 * memory_mb * 2**20, f"{need / 2**20:.0f} MiB of {memory_mb} MiB"


def test_the_account_logging_role_is_not_used_the_moment_it_is_created() -> None:
    """IAM is eventually consistent: a role set at once can fail the first deploy."""
    template = transformed()
    account = template["Resources"]["ApiGatewayAccount"]
    depends_on = account.get("DependsOn", [])
    waits_for = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    assert "WebDistribution" in waits_for  # minutes to create: the role has propagated by then
    assert template["Resources"]["WebDistribution"]["Type"] == "AWS::CloudFront::Distribution"
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}


@pytest.mark.parametrize(
    ("parameters", "admin_only"),
    [
        ({}, True),  # the default: only an administrator creates accounts
        ({"PublicReads": "false"}, True),  # a private gallery stays private
        ({"AllowSelfSignUp": "true"}, False),  # opened deliberately
        ({"AllowSelfSignUp": "true", "PublicReads": "false"}, False),
    ],
)
def test_self_sign_up_is_closed_unless_opened(parameters: dict[str, str], admin_only: bool) -> None:
    template = transformed(**parameters)
    pool = template["Resources"]["UserPool"]["Properties"]
    value = Stack(template, "image-service", "eu-west-1", **parameters).value(
        pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"]
    )
    assert value is admin_only


def test_self_sign_up_defaults_to_closed() -> None:
    parameter = TEMPLATE.body["Parameters"]["AllowSelfSignUp"]
    assert parameter["Default"] == "false" and parameter["AllowedValues"] == ["true", "false"]


def stack_id_uses(node: Any) -> int:
    """How many times ``node`` refers to ``AWS::StackId`` (in a Ref or inside a Sub's text)."""
    if isinstance(node, list):
        return sum(stack_id_uses(item) for item in node)
    if isinstance(node, dict):
        return sum((key == "Ref" and value == "AWS::StackId") + stack_id_uses(value) for key, value in node.items())
    return str(node).count("${AWS::StackId}")


def test_the_stack_uuid_is_taken_from_the_stack_id_once() -> None:
    """The names made unique with the stack's UUID all read one value: a second copy could drift."""
    assert stack_id_uses(TEMPLATE.body) == 1  # as written
    template = transformed()
    assert stack_id_uses(template) == 1  # and as CloudFormation receives it
    (holder,) = (r for r in of_type(template, "AWS::SSM::Parameter").values() if stack_id_uses(r))
    stack = Stack(template, "image-service", "eu-west-1")
    uuid_part = str(stack.value(holder["Properties"]["Value"]))
    assert uuid.UUID(uuid_part) and stack.refs["AWS::StackId"].endswith(f"/{uuid_part}")
    # The names that need it read it: the bucket (and the functions' view of it), the sign-in prefix.
    bucket = stack.value(template["Resources"]["ImagesBucket"]["Properties"]["BucketName"])
    assert bucket == f"images-{uuid_part}"
    for function in of_type(template, "AWS::Lambda::Function").values():
        assert stack.value(function["Properties"]["Environment"]["Variables"]["S3_BUCKET_NAME"]) == bucket
    domain = stack.value(template["Resources"]["UserPoolDomain"]["Properties"]["Domain"])
    assert domain == f"images-{uuid_part}"


def test_one_lint_run_checks_every_auth_mode_and_sign_up_setting(tmp_path: Path) -> None:
    """`make lint` lints template.yaml once, with no copy per parameter value: cfn-lint must check
    the branches only the non-default values reach (AuthMode=none, AllowSelfSignUp=true)."""
    text = TEMPLATE.path.read_text()
    planted = text.replace("    MemorySize: 256\n", "    MemorySize: !If [UseCognito, 256, 99999]\n", 1).replace(
        "AllowAdminCreateUserOnly: !If [SelfSignUp, false, true]",
        'AllowAdminCreateUserOnly: !If [SelfSignUp, "maybe", true]',
    )
    assert planted.count("99999") == 1 and planted.count('"maybe"') == 1
    path = tmp_path / "template.yaml"
    path.write_text(planted)
    done = subprocess.run(
        [str(TOOLS_PYTHON.parent / "cfn-lint"), "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found = {tuple(match["Location"]["Path"][-3:]) for match in json.loads(done.stdout)}
    assert ("MemorySize", "Fn::If", 2) in found, found  # only AuthMode=none takes the second branch
    assert ("AllowAdminCreateUserOnly", "Fn::If", 1) in found, found  # only AllowSelfSignUp=true
