"""The local mode's start-up: moto started before ``serve`` imports its own side, and moto's
services built in the background (the order of things, not their timing, is tested here)."""

from __future__ import annotations

import gc
import inspect
import time
import urllib.request

import pytest
from moto.core import utils as moto_utils
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from localapi import iam, moto_process, moto_server
from localapi.app import ROOT
from localapi.aws_backend import AwsEmulation, local_secrets
from localapi.template import Template


def test_the_switch_and_the_parent_variable_are_the_same_ones() -> None:
    assert moto_process.SWITCH == iam.SWITCH
    assert moto_process.PARENT == moto_server.PARENT


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["invoke", "F", "e.json"],
        ["serve", "--aws-port", "4566"],
        ["serve", "--aws-port=4566"],
        ["serve", "-h"],
        ["serve", "--help"],
    ],
)
def test_only_a_default_serve_starts_moto_early(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_PORT", raising=False)
    moto_process.start_early(argv)
    assert moto_process.claim("127.0.0.1", 0, True) == (0, None)


def test_an_explicit_aws_port_is_left_to_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PORT", "4566")  # serve names a busy one before starting anything
    moto_process.start_early(["serve"])
    assert moto_process.claim("127.0.0.1", 0, True) == (0, None)


def test_the_early_moto_is_claimed_once_and_one_that_does_not_fit_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_PORT", raising=False)
    monkeypatch.delenv(moto_process.SWITCH, raising=False)
    moto_process.start_early(["serve", "--port", "0"])
    port, process = moto_process.claim("127.0.0.1", 0, True)
    assert process is not None and port
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the early moto never answered"
                time.sleep(0.05)
        assert moto_process.claim("127.0.0.1", 0, True) == (0, None)  # claimed once
    finally:
        process.terminate()
        process.wait(timeout=10)
    moto_process.start_early(["serve", "--no-iam"])
    _, other = moto_process._early[("127.0.0.1", False)]
    assert moto_process.claim("127.0.0.1", 0, True) == (0, None)  # IAM on wanted: this one does not fit
    assert other.wait(timeout=10) is not None  # and it was stopped


def test_warm_up_builds_the_services_the_local_mode_calls_and_loads_their_models(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded: list[str] = []
    real = moto_utils.get_service_model
    monkeypatch.setattr(moto_utils, "get_service_model", lambda name: loaded.append(name) or real(name))
    monkeypatch.setattr(gc, "freeze", lambda: loaded.append("frozen"))  # not this test process's objects
    dispatcher = DomainDispatcherApplication(create_backend_app)
    moto_server.warm_up(dispatcher).join(timeout=60)
    assert set(moto_server.SERVICES) <= set(dispatcher.app_instances)
    assert loaded == [*moto_server.SERVICES, "frozen"]  # what lives as long as the server, out of the collector's way
    assert {"dynamodb", "s3", "secretsmanager", "iam", "sts", "sqs"} <= set(moto_server.SERVICES)  # what start calls


def test_moto_loads_every_service_model_with_one_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    # The canary: moto still makes a loader for each model it loads (else the shared one is dead code).
    assert "create_loader()" in inspect.getsource(moto_utils._load_service_model)
    monkeypatch.setattr(moto_utils, "create_loader", moto_utils.create_loader)  # restored after
    assert moto_utils.create_loader() is not moto_utils.create_loader()
    moto_server.share_model_loader()
    assert moto_utils.create_loader() is moto_utils.create_loader()
    assert moto_utils._load_service_model("sts", "service-2")["metadata"]["endpointPrefix"] == "sts"


def test_the_backend_of_a_host_is_looked_up_once_with_the_same_answer() -> None:
    # The canary: moto's dispatcher still asks get_backend_for_host for each request.
    assert "self.get_backend_for_host(host)" in inspect.getsource(DomainDispatcherApplication.get_application)
    plain, cached = (DomainDispatcherApplication(create_backend_app) for _ in range(2))
    moto_server.cache_backend_lookup(cached)
    for host in ("s3.us-east-1.amazonaws.com", "iam.amazonaws.com", "sts.us-east-1.amazonaws.com", "dynamodb"):
        assert cached.get_backend_for_host(host) == plain.get_backend_for_host(host) is not None
        assert cached.get_backend_for_host(host) == plain.get_backend_for_host(host)
    assert cached.get_backend_for_host.cache_info().hits == 4  # type: ignore[attr-defined]


def test_the_functions_are_ready_once_their_roles_and_secrets_exist_and_start_returns_with_everything() -> None:
    template = Template(ROOT / "template.yaml")
    template.secrets = local_secrets(template, None)
    emulation = AwsEmulation(template, iam=True)
    seen: dict[str, set[str]] = {}

    def functions_ready() -> None:  # a worker started in advance does its init from here on
        secrets = emulation.client("secretsmanager").list_secrets()["SecretList"]
        seen["secrets"] = {secret["Name"] for secret in secrets}
        seen["roles"] = set(emulation.function_credentials)

    emulation.start(functions_ready=functions_ready)
    try:
        assert seen["secrets"] == {template.secret_name(logical_id) for logical_id in template.secret_ids()}
        assert seen["roles"] == set(template.function_ids())
        tables = set(emulation.client("dynamodb").list_tables()["TableNames"])
        assert tables == {definition["TableName"] for definition in template.table_definitions()}
        buckets = {bucket["Name"] for bucket in emulation.client("s3").list_buckets()["Buckets"]}
        assert buckets == set(template.bucket_names())
    finally:
        emulation.stop()
