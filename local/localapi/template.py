"""Read ``template.yaml``: the functions, their routes and environment, the tables and the bucket.

The template is the single source of truth for the local mode: routes come from each function's
``Api`` events, tables are created from their ``AWS::DynamoDB::Table`` properties, and the
environment from ``Globals`` merged with each function's own ``Environment``. Intrinsic functions
are resolved against local physical names, the way CloudFormation resolves them against real ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STACK_NAME = "image-service"
STACK_UUID = "00000000-0000-4000-8000-000000000000"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
_NO_VALUE = object()
_DYNAMIC_SECRET = re.compile(r"\{\{resolve:secretsmanager:([^}]+)\}\}")


# libyaml's parser where PyYAML has it: the same documents, ~10x faster than the pure-Python one
# (reading template.yaml took ~0.1 s of every start of the local mode).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """YAML loader that turns CloudFormation short forms (``!Ref X``) into long forms."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else ("Condition" if tag_suffix == "Condition" else f"Fn::{tag_suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@dataclass(frozen=True)
class Route:
    method: str  # upper case, e.g. "GET"
    path: str  # API Gateway resource path, e.g. "/images/{image_id}"


@dataclass(frozen=True)
class S3Trigger:
    """An ``S3`` event of a function: which bucket, which key prefix."""

    bucket: str
    prefix: str


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_mb: int
    layer_dirs: tuple[Path, ...]
    environment: dict[str, str]
    routes: tuple[Route, ...] = field(default_factory=tuple)
    s3_triggers: tuple[S3Trigger, ...] = field(default_factory=tuple)


class Template:
    def __init__(
        self,
        path: Path,
        *,
        parameters: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
        stack_name: str = STACK_NAME,
    ) -> None:
        self.path = Path(path)
        self.root = self.path.resolve().parent
        self.body: dict[str, Any] = yaml.load(self.path.read_text(), Loader=_CfnLoader)  # noqa: S506 - safe subclass
        self.resources: dict[str, dict[str, Any]] = self.body.get("Resources", {})
        self.stack_name = stack_name
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in self.body.get("Parameters", {}).items()}
        self.parameters.update(parameters or {})
        # Secrets Manager dynamic references resolve to these values, by secret logical id.
        self.secrets = secrets or {}

    # -- physical names -----------------------------------------------------------------

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        kind = resource["Type"]
        props = resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table" and "TableName" in props:
            return str(self.resolve(props["TableName"]))
        if kind == "AWS::S3::Bucket":
            return str(
                (props.get("BucketName") and self.resolve(props["BucketName"]))
                or f"{self.stack_name}-{logical_id}".lower()
            )
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{self.stack_name}-{logical_id}"
        return f"{self.stack_name}-{logical_id}"

    def _attribute(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::SSM::Parameter" and attribute == "Value":  # e.g. the template's StackUuid
            return str(self.resolve(self.resources[logical_id]["Properties"]["Value"]))
        name = self.physical_name(logical_id)
        if attribute == "Arn":
            if kind == "AWS::DynamoDB::Table":
                return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
            if kind == "AWS::S3::Bucket":
                return f"arn:aws:s3:::{name}"
            return f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{name}"
        return name

    # -- intrinsic functions --------------------------------------------------------------

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.stack_name}/{STACK_UUID}",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical_name(name)

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.body.get("Conditions", {})[name]))

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression in variables:
                return str(self.resolve(variables[expression]))
            if "." in expression:
                logical_id, attribute = expression.split(".", 1)
                return self._attribute(logical_id, attribute)
            return str(self._ref(expression))

        resolved = re.sub(r"\$\{([^!}][^}]*)\}", replace, text)
        return _DYNAMIC_SECRET.sub(self._resolve_secret, resolved)

    def _resolve_secret(self, match: re.Match[str]) -> str:
        reference = match.group(1)
        for logical_id, value in self.secrets.items():
            # The reference is "<secret id or ARN>[:SecretString[:json-key...]]".
            for name in (self.physical_name(logical_id), logical_id):
                if reference == name or reference.startswith(f"{name}:"):
                    return value
        raise KeyError(f"no local value for secret {reference}")

    def resolve(self, value: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per intrinsic function
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._attribute(logical_id, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self._sub(text, variables)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(item) for item in self.resolve(items))
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    # -- resources --------------------------------------------------------------------------

    def _of_type(self, kind: str) -> list[str]:
        return [name for name, resource in self.resources.items() if resource.get("Type") == kind]

    def functions(self) -> list[FunctionSpec]:
        defaults = self.body.get("Globals", {}).get("Function", {})
        specs = []
        for logical_id in self._of_type("AWS::Serverless::Function"):
            props = self.resources[logical_id]["Properties"]
            environment = {
                **defaults.get("Environment", {}).get("Variables", {}),
                **props.get("Environment", {}).get("Variables", {}),
            }
            # As SAM merges them: the Globals' layers first, then the function's own.
            layers = [*defaults.get("Layers", []), *props.get("Layers", [])]
            routes = tuple(
                Route(method=event["Properties"]["Method"].upper(), path=event["Properties"]["Path"])
                for event in props.get("Events", {}).values()
                if event.get("Type") == "Api"
            )
            s3_triggers = tuple(
                S3Trigger(bucket=str(self.resolve(event["Properties"]["Bucket"])), prefix=self._s3_prefix(event))
                for event in props.get("Events", {}).values()
                if event.get("Type") == "S3"
            )
            specs.append(
                FunctionSpec(
                    logical_id=logical_id,
                    code_dir=self.root / props.get("CodeUri", defaults.get("CodeUri", ".")),
                    handler=props.get("Handler", defaults.get("Handler")),
                    timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
                    memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
                    layer_dirs=tuple(self._layer_dir(layer) for layer in layers),
                    environment={name: str(value) for name, value in self.resolve(environment).items()},
                    routes=routes,
                    s3_triggers=s3_triggers,
                )
            )
        return specs

    @staticmethod
    def _s3_prefix(event: dict[str, Any]) -> str:
        rules = event["Properties"].get("Filter", {}).get("S3Key", {}).get("Rules", [])
        return next((rule["Value"] for rule in rules if rule.get("Name", "").lower() == "prefix"), "")

    def function_ids(self) -> list[str]:
        """The functions' logical ids (without resolving anything, unlike ``functions()``)."""
        return self._of_type("AWS::Serverless::Function")

    def function(self, logical_id: str) -> FunctionSpec:
        for spec in self.functions():
            if spec.logical_id == logical_id:
                return spec
        raise KeyError(f"no function {logical_id} in {self.path.name}")

    def _layer_dir(self, layer: Any) -> Path:
        if not (isinstance(layer, dict) and "Ref" in layer):
            raise ValueError(f"only layers defined in the template are supported, not {layer!r}")
        return self.root / self.resources[layer["Ref"]]["Properties"]["ContentUri"]

    def table_definitions(self) -> list[dict[str, Any]]:
        """``CreateTable`` arguments for every table, taken from the template's properties."""
        keys = (
            "AttributeDefinitions",
            "KeySchema",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "BillingMode",
            "ProvisionedThroughput",
        )
        definitions = []
        for logical_id in self._of_type("AWS::DynamoDB::Table"):
            props = self.resolve(self.resources[logical_id]["Properties"])
            definition = {key: props[key] for key in keys if key in props}
            definition["TableName"] = self.physical_name(logical_id)
            definitions.append(definition)
        return definitions

    def api_properties(self) -> dict[str, Any]:
        """The resolved properties of the template's (first) ``AWS::Serverless::Api``."""
        for logical_id in self._of_type("AWS::Serverless::Api"):
            return dict(self.resolve(self.resources[logical_id].get("Properties", {})))
        return {}

    def protected_routes(self) -> set[tuple[str, str]]:
        """(METHOD, path) of the operations whose resolved ``security`` names an authorizer."""
        paths = self.api_properties().get("DefinitionBody", {}).get("paths", {})
        return {
            (method.upper(), path)
            for path, operations in paths.items()
            for method, operation in operations.items()
            if isinstance(operation, dict) and operation.get("security")
        }

    def bucket_names(self) -> list[str]:
        return [self.physical_name(logical_id) for logical_id in self._of_type("AWS::S3::Bucket")]

    def secret_ids(self) -> list[str]:
        return self._of_type("AWS::SecretsManager::Secret")

    def secret_name(self, logical_id: str) -> str:
        """The name a secret gets in the emulation: the last part of its (local) ARN."""
        return self.physical_name(logical_id).split(":secret:", 1)[1]
