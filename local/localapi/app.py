"""The local mode assembled: AWS emulation + function workers + API Gateway emulator."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from .aws_backend import LOCAL_CREDENTIALS, AwsEmulation, local_secrets
from .cognito import LocalUserPool
from .docs import docs_routes
from .functions import FunctionPool
from .gateway import Gateway, make_http_server
from .notifications import AsyncInvoker, S3EventRelay
from .persistence import StateStore
from .template import Template
from .web import web_routes

logger = logging.getLogger("localapi")
ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
# The web gallery's first call, and so the first request most sessions make: its function's
# worker is started with the local mode rather than by that request (the others start on demand).
FIRST_CALL = ("GET", "/images")


def read_env_vars(path: Path | None) -> dict[str, dict[str, str]]:
    """An ``env.json`` in ``sam local --env-vars`` format: ``Parameters`` for all, or per function."""
    if path is None:
        return {}
    data = json.loads(Path(path).read_text())
    return {name: {k: str(v) for k, v in values.items()} for name, values in data.items()}


def function_environments(
    template: Template,
    endpoint_url: str,
    overrides: dict[str, dict[str, str]],
    credentials: dict[str, dict[str, str]] | None = None,
) -> dict[str, dict[str, str]]:
    """Each function's environment: the template's, pointed at the emulation, then overrides.

    As with ``sam local``, an override only replaces a variable the template declares.
    ``credentials`` are each function's role session (IAM enforcement); without them a function
    gets the developer's unrestricted credentials.
    """
    template.parameters["EndpointUrl"] = endpoint_url
    environments = {}
    for spec in template.functions():
        env = dict(spec.environment)
        for source in (overrides.get("Parameters", {}), overrides.get(spec.logical_id, {})):
            env.update({name: value for name, value in source.items() if name in env})
        environments[spec.logical_id] = {**env, **(credentials or {}).get(spec.logical_id, LOCAL_CREDENTIALS)}
    return environments


class LocalApp:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        aws_port: int = 0,
        state_dir: Path | None = None,
        env_vars: Path | None = None,
        template_path: Path = TEMPLATE_PATH,
        stage: str = "dev",
        auth_mode: str = "none",
        iam: bool | None = None,
    ) -> None:
        # The local mode is open by default, as in the original design; "cognito" emulates the
        # Cognito authorizer the deployed API has by default.
        self.auth_mode = auth_mode
        self.template = Template(template_path, parameters={"AuthMode": auth_mode})
        self.template.secrets = local_secrets(self.template, state_dir)
        self.state_dir = state_dir
        self.aws = AwsEmulation(self.template, host=host, port=aws_port, iam=iam)
        self._host, self._port, self._stage = host, port, stage
        self._overrides = read_env_vars(env_vars)
        self.pools: dict[str, FunctionPool] = {}
        self.gateway: Gateway | None = None
        self._server: Any = None
        self._server_closed = False
        self._thread: threading.Thread | None = None
        self.s3_events: S3EventRelay | None = None
        self.async_invoker: AsyncInvoker | None = None
        self.state: StateStore | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalApp:
        """Start everything; on any failure stop what was started (no moto process is left behind)."""
        try:
            return self._start()
        except BaseException:
            self.stop(save=False)
            raise

    def _start(self) -> LocalApp:
        # The port first: a busy one fails here, before any process is started.
        self._server = make_http_server(None, self._host, self._port)
        self.template.parameters["EndpointUrl"] = self.aws.endpoint_url
        specs = self.template.functions()
        # The pools wait for their environments (the roles' credentials come with the emulation);
        # the first call's worker starts now and does its imports while the emulation starts.
        self.pools = {spec.logical_id: FunctionPool(spec) for spec in specs}
        for spec in specs:
            if FIRST_CALL in ((route.method, route.path) for route in spec.routes):
                self.pools[spec.logical_id].prestart()
        self.aws.start(functions_ready=self._configure_functions)
        if self.state_dir:
            self.state = StateStore(self.state_dir, self.aws)
            loaded = self.state.load()
            logger.info("loaded %d rows and objects from %s", loaded, self.state_dir)
        # moto invokes no function: the relay delivers the template's S3 events itself.
        subscriptions = [(trigger, self.pools[spec.logical_id]) for spec in specs for trigger in spec.s3_triggers]
        # One asynchronous invoker, as Lambda has: S3 events and Invoke's "Event" type share it.
        self.async_invoker = AsyncInvoker()
        self.s3_events = S3EventRelay(
            self.aws.client("s3"), subscriptions, invoker=self.async_invoker, sqs_client=self.aws.client("sqs")
        ).start()
        user_pool = LocalUserPool(issuer=f"{self.url}/_local") if self.auth_mode == "cognito" else None
        self.gateway = Gateway(self.template, self.pools, stage=self._stage, user_pool=user_pool)
        self.gateway.async_invoker = self.async_invoker
        self.gateway.extra_routes.update(web_routes(self.auth_mode))  # the web gallery at /
        self.gateway.extra_routes.update(docs_routes())  # the spec at /openapi.yaml, Swagger UI at /docs
        self._server.gateway = self.gateway
        if self.state is not None:
            # Every write goes through a function: save after they ran (kill -9 keeps the photos).
            self.state.start(lambda: sum(pool.invocations for pool in self.pools.values()))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def _configure_functions(self) -> None:
        """Each pool's environment, with its role's credentials: a worker started in advance does its init now."""
        environments = function_environments(
            self.template, self.aws.endpoint_url, self._overrides, self.aws.function_credentials
        )
        for logical_id, pool in self.pools.items():
            pool.configure(environments[logical_id])

    def stop(self, *, save: bool = True) -> None:
        if self._server is not None and not self._server_closed:
            if self._thread is not None:
                self._server.shutdown()
            self._server.server_close()
            self._server_closed, self._thread = True, None
        if self.s3_events is not None:
            self.s3_events.stop()  # and the invoker: what is queued is delivered first
            self.s3_events = None
        elif self.async_invoker is not None:
            self.async_invoker.stop()
        for pool in self.pools.values():
            pool.close()
        if self.state is not None and save:
            self.state.stop()
            logger.info("saved the local data to %s", self.state_dir)
        self.aws.stop()
