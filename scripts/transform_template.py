"""Transform template.yaml with SAM's own translator, offline, for given parameter values.

What CloudFormation deploys is not template.yaml but what the SAM transform makes of it, with
the stack's parameters. Tests (tests/template/test_template_transform.py) read that output to catch what
only shows on AWS: a deployment that does not change with the API definition, an extra stage,
names that collide. Run with the tools environment, which has the SAM CLI's translator:

    .venv-tools/bin/python scripts/transform_template.py '[{"region": "eu-west-1", "parameters": {}, "time": 0}]'

prints a JSON list with one transformed template per requested case. No AWS call is made: the
functions' local code directories are replaced by placeholder S3 locations (as `sam package`
would replace them) and no managed policy is looked up (the template uses inline policies).
``time`` (optional, seconds since the epoch) is when the deploy is made: SAM reads the clock
for APIs that deploy on every deploy (AlwaysDeploy), and two deploys are never the same second.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """The template as `sam package` would upload it: code directories become S3 locations."""
    for name, resource in template["Resources"].items():
        prop = CODE_PROPERTIES.get(resource.get("Type"))
        if prop and isinstance(resource["Properties"].get(prop), str):
            resource["Properties"][prop] = f"s3://artifacts/{name}.zip"
    return template


def transform(region: str, parameters: dict[str, str], path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    template = packaged(yaml_parse(path.read_text()))
    session = boto3.session.Session(region_name=region)
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), boto_session=session)
    return translator.translate(template, parameter_values=dict(parameters), get_managed_policy_map=lambda: {})


def main(argv: list[str]) -> int:
    results = []
    for case in json.loads(argv[1]):
        with mock.patch.object(time, "time", return_value=float(case.get("time", time.time()))):
            results.append(transform(case["region"], case.get("parameters", {})))
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
