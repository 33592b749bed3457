"""Reading template.yaml: routes, environment, tables and intrinsic functions."""

from __future__ import annotations

from pathlib import Path

from localapi.template import Template

ROOT = Path(__file__).resolve().parent.parent.parent


def project_template(**parameters: str) -> Template:
    return Template(ROOT / "template.yaml", parameters=parameters, secrets={"CursorSigningSecret": "s" * 32})


def test_routes_are_the_five_of_the_api() -> None:
    routes = {(r.method, r.path): spec.logical_id for spec in project_template().functions() for r in spec.routes}
    assert routes == {
        ("POST", "/images"): "UploadFunction",
        ("GET", "/images"): "ListFunction",
        ("GET", "/images/{image_id}"): "GetFunction",
        ("GET", "/images/{image_id}/download"): "GetFunction",
        ("DELETE", "/images/{image_id}"): "DeleteFunction",
    }


def test_environment_merges_globals_resolves_refs_and_drops_no_value() -> None:
    functions = {spec.logical_id: spec for spec in project_template().functions()}
    upload = functions["UploadFunction"].environment
    assert upload["IMAGES_TABLE_NAME"] == "image-service-images"
    assert upload["IMAGE_TAGS_TABLE_NAME"] == "image-service-image_tags"
    assert upload["MAX_IMAGE_BYTES"] == "4500000"
    assert "AWS_ENDPOINT_URL" not in upload  # !If with an empty EndpointUrl -> AWS::NoValue
    assert functions["ListFunction"].environment["CURSOR_SECRET"] == "s" * 32  # dynamic reference resolved
    assert all(spec.layer_dirs == (ROOT / "layers" / "storage",) for spec in functions.values())


def test_endpoint_parameter_sets_the_endpoint_variable() -> None:
    spec = project_template(EndpointUrl="http://127.0.0.1:5000").function("GetFunction")
    assert spec.environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"


def test_tables_are_created_from_their_template_properties() -> None:
    tables = {t["TableName"]: t for t in project_template().table_definitions()}
    images = tables["image-service-images"]
    assert images["KeySchema"] == [{"AttributeName": "image_id", "KeyType": "HASH"}]
    gsi = images["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "user_id-index"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["user_id", "created_at"]
    tags = tables["image-service-image_tags"]
    assert [k["AttributeName"] for k in tags["KeySchema"]] == ["tag", "image_id"]
