"""Reading template.yaml: routes, environment, tables and intrinsic functions."""

from __future__ import annotations

from pathlib import Path

from localapi.template import Template

ROOT = Path(__file__).resolve().parent.parent.parent


def project_template(**parameters: str) -> Template:
    return Template(ROOT / "template.yaml", parameters=parameters, secrets={"CursorSigningSecret": "s" * 32})


def test_routes_are_the_seven_of_the_api() -> None:
    routes = {(r.method, r.path): spec.logical_id for spec in project_template().functions() for r in spec.routes}
    assert routes == {
        ("POST", "/images"): "UploadFunction",
        ("GET", "/images"): "ListFunction",
        ("GET", "/images/{image_id}"): "GetFunction",
        ("GET", "/images/{image_id}/download"): "GetFunction",
        ("DELETE", "/images/{image_id}"): "DeleteFunction",
        ("PATCH", "/images/{image_id}"): "UploadFunction",
        ("POST", "/images/uploads"): "UploadFunction",
    }


def test_write_routes_are_protected_only_in_cognito_mode() -> None:
    writes = {
        ("POST", "/images"),
        ("POST", "/images/uploads"),
        ("PATCH", "/images/{image_id}"),
        ("DELETE", "/images/{image_id}"),
    }
    assert project_template().protected_routes() == writes
    assert project_template(AuthMode="none").protected_routes() == set()


def test_every_event_route_is_in_the_api_definition_and_back() -> None:
    template = project_template()
    defined = {
        (method.upper(), path)
        for path, operations in template.api_properties()["DefinitionBody"]["paths"].items()
        for method in operations
    }
    routed = {(r.method, r.path) for spec in template.functions() for r in spec.routes}
    assert defined == routed
    # ...and each operation's integration invokes the function whose event declares the route.
    paths = template.api_properties()["DefinitionBody"]["paths"]
    for spec in template.functions():
        for route in spec.routes:
            uri = paths[route.path][route.method.lower()]["x-amazon-apigateway-integration"]["uri"]
            assert f"function:{template.stack_name}-{spec.logical_id}/" in uri or spec.logical_id in uri, (route, uri)


def test_environment_merges_globals_resolves_refs_and_drops_no_value() -> None:
    functions = {spec.logical_id: spec for spec in project_template().functions()}
    upload = functions["UploadFunction"].environment
    assert upload["IMAGES_TABLE_NAME"] == "image-service-images"
    assert upload["IMAGE_TAGS_TABLE_NAME"] == "image-service-image_tags"
    assert upload["MAX_IMAGE_BYTES"] == "4500000"
    assert "AWS_ENDPOINT_URL" not in upload  # !If with an empty EndpointUrl -> AWS::NoValue
    # The secret's ARN, never its value: the function reads the value at cold start.
    arn = functions["ListFunction"].environment["CURSOR_SECRET_ARN"]
    assert arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret:image-service-CursorSigningSecret"
    assert "s" * 32 not in repr([spec.environment for spec in functions.values()])
    # The Globals' layer first, then the function's own (as SAM merges the two lists).
    storage, imaging = ROOT / "layers" / "storage", ROOT / "layers" / "imaging"
    assert functions["UploadFunction"].layer_dirs == (storage, imaging)
    assert all(spec.layer_dirs == (storage,) for name, spec in functions.items() if name != "UploadFunction")


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


def test_upload_function_is_triggered_by_new_objects_under_uploads() -> None:
    spec = project_template().function("UploadFunction")
    assert [(t.bucket, t.prefix) for t in spec.s3_triggers] == [(project_template().bucket_names()[0], "uploads/")]
    assert spec.environment["S3_BUCKET_NAME"] == project_template().bucket_names()[0]


def test_reads_can_be_made_private_in_cognito_mode() -> None:
    reads = {("GET", "/images"), ("GET", "/images/{image_id}"), ("GET", "/images/{image_id}/download")}
    assert not reads & project_template().protected_routes()
    assert reads <= project_template(PublicReads="false").protected_routes()
    assert project_template(PublicReads="false", AuthMode="none").protected_routes() == set()


def test_libyamls_parser_reads_the_templates_as_the_pure_python_one_does() -> None:
    import yaml

    from localapi import template as template_module

    class PurePython(yaml.SafeLoader):
        pass

    PurePython.add_multi_constructor("!", template_module._construct_tag)
    for path in (ROOT / "template.yaml", Path(__file__).resolve().parent / "fixture" / "template.yaml"):
        assert Template(path).body == yaml.load(path.read_text(), Loader=PurePython)  # noqa: S506 - safe subclass
