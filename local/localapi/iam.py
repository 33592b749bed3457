"""Each function's IAM role, as CloudFormation creates it from the template, made in the emulation.

The template is expanded with SAM's own translator (``aws-sam-translator``, offline), so policy
templates (``DynamoDBCrudPolicy``...), inline statements and managed policies become the role's
policies exactly as on deploy; the ARNs in them are resolved to the emulation's (account
123456789012, us-east-1, the local tables and bucket). Each role is created in moto's IAM and
assumed once, as Lambda does; the function's worker gets that session's credentials, and
``moto_auth.IamEnforcer`` allows each call only if the role's policies do.

On by default; ``LOCAL_IAM=off`` (or ``--no-iam``) gives every function the developer's
unrestricted credentials instead.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from .template import REGION, Template

logger = logging.getLogger("localapi")
SWITCH = "LOCAL_IAM"
_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"
_CACHE_FORMAT = 2  # of the translation cache's files; a new format never reads an old file


def iam_enforced() -> bool:
    """Whether functions run with their own roles (the default) or unrestricted (``LOCAL_IAM=off``)."""
    return os.environ.get(SWITCH, "on").strip().lower() not in ("off", "0", "false", "no")


@dataclass(frozen=True)
class RoleSpec:
    function: str  # the function's logical id
    role_name: str
    policies: dict[str, dict[str, Any]]  # policy name -> resolved policy document


def _packaged_copy(template: Template) -> dict[str, Any]:
    """The template as ``sam package`` leaves it: code locations are S3 URIs (the translator wants them)."""
    body = copy.deepcopy(template.body)
    body.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in body.get("Resources", {}).values():
        properties = resource.setdefault("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            properties["CodeUri"] = "s3://local/function.zip"
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = "s3://local/layer.zip"
    return body


def function_roles(template: Template) -> list[RoleSpec]:
    """Each function's role and its policies, from SAM's translation of the template."""
    resources, managed = _translated_resources(template)
    roles = []
    for logical_id in template.function_ids():
        role_ref = resources[logical_id]["Properties"].get("Role")
        role_id = role_ref.get("Fn::GetAtt", [None])[0] if isinstance(role_ref, dict) else None
        if role_id not in resources:
            logger.warning("%s: role %r is not in the template; it runs unrestricted", logical_id, role_ref)
            continue
        properties = resources[role_id].get("Properties", {})
        policies = {
            str(policy["PolicyName"]): template.resolve(policy["PolicyDocument"])
            for policy in properties.get("Policies", [])
        }
        for arn in template.resolve(properties.get("ManagedPolicyArns", [])):
            policies[arn.rsplit("/", 1)[-1]] = managed[arn]
        roles.append(RoleSpec(function=logical_id, role_name=f"{template.stack_name}-{role_id}", policies=policies))
    return roles


def _translated_resources(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resources of SAM's translation and the managed policies they name, cached.

    Importing and running the translator, and reading moto's copy of the managed policies, cost
    seconds of CPU at every start; the cache makes it once per change of the template. The cache
    is private to the user. EndpointUrl is left out of the key: it is the emulation's own
    address, different at every start, and only the functions' environment uses it.
    """
    parameters = {name: value for name, value in sorted(template.parameters.items()) if name != "EndpointUrl"}
    digest = hashlib.sha256(template.path.read_bytes())
    digest.update(json.dumps([_CACHE_FORMAT, parameters, template.stack_name, version("aws-sam-translator")]).encode())
    cache = Path(tempfile.gettempdir()) / f"localapi-sam-{os.getuid()}" / f"{digest.hexdigest()[:40]}.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        return cached["resources"], cached["managed"]
    # Imported here: the translator costs most of a second to import, and only this needs it.
    import boto3  # noqa: PLC0415
    from samtranslator.parser.parser import Parser  # noqa: PLC0415
    from samtranslator.translator.translator import Translator  # noqa: PLC0415

    translator = Translator({}, Parser(), boto_session=boto3.Session(region_name=REGION))
    translated = translator.translate(
        _packaged_copy(template), parameter_values=dict(template.parameters), get_managed_policy_map=lambda: {}
    )
    resources = dict(translated["Resources"])
    arns = {
        arn
        for resource in resources.values()
        if resource.get("Type") == "AWS::IAM::Role"
        for arn in template.resolve(resource.get("Properties", {}).get("ManagedPolicyArns", []))
    }
    managed = {arn: _managed_policy(arn) for arn in sorted(arns)}
    cache.parent.mkdir(mode=0o700, exist_ok=True)
    temporary = cache.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"resources": resources, "managed": managed}))
    temporary.replace(cache)  # atomic: two starts at once never read half a file
    return resources, managed


def _managed_policy(arn: str) -> dict[str, Any]:
    """An AWS managed policy's document, from the copy moto ships (moto does not load them itself)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415 - a large module

    name = arn.removeprefix(_MANAGED_PREFIX).rsplit("/", 1)[-1]
    data = json.loads(aws_managed_policies_data).get(name)
    if not arn.startswith(_MANAGED_PREFIX) or data is None:
        logger.warning("managed policy %s is unknown locally; it grants nothing here", arn)
        return {"Version": "2012-10-17", "Statement": []}
    return dict(data["Document"])


def create_roles(roles: list[RoleSpec], iam: Any, sts: Any, template: Template) -> dict[str, dict[str, str]]:
    """Create each role in the emulation and assume it as Lambda does: credentials per function.

    The roles are made side by side (three calls each, independent of the others'): the emulation
    applies the calls one at a time, but each role's next call is ready when another's is answered."""
    with ThreadPoolExecutor(max_workers=max(1, len(roles))) as pool:
        sessions = pool.map(lambda role: _create_role(role, iam, sts, template), roles)
        return {role.function: session for role, session in zip(roles, sessions, strict=True)}


def _create_role(role: RoleSpec, iam: Any, sts: Any, template: Template) -> dict[str, str]:
    try:
        arn = iam.create_role(
            RoleName=role.role_name, AssumeRolePolicyDocument=json.dumps(_LAMBDA_TRUST), MaxSessionDuration=43200
        )["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=role.role_name)["Role"]["Arn"]
    # One inline policy with every statement: evaluated exactly as the separate ones, and one
    # call per role instead of one per policy (each call costs start-up time).
    statements = []
    for document in role.policies.values():
        listed = document.get("Statement", [])
        statements += listed if isinstance(listed, list) else [listed]
    if statements:
        # moto's validator wants a Version (IAM takes a document without, as SAM writes them).
        combined = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=role.role_name, PolicyName="policies", PolicyDocument=json.dumps(combined))
    session = sts.assume_role(
        RoleArn=arn, RoleSessionName=template.physical_name(role.function)[:64], DurationSeconds=43200
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
        "AWS_SESSION_TOKEN": session["SessionToken"],
    }
