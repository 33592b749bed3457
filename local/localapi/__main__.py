"""Command line of the local mode.

python -m localapi serve  [--port 3000] [--state-dir DIR] [--env-vars env.json] [--no-iam]
python -m localapi invoke FUNCTION EVENT.json [--endpoint URL] [--env-vars env.json] [--no-iam]
python -m localapi aws    [--host H ...] [--port P]   (only the AWS emulation)
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

from . import moto_process

if __name__ == "__main__":
    moto_process.start_early(sys.argv[1:])  # moto imports while the imports below run

from .app import TEMPLATE_PATH, LocalApp, function_environments, read_env_vars
from .aws_backend import AwsEmulation, local_secrets
from .functions import FunctionError, FunctionPool, FunctionTimeout
from .iam import create_roles, function_roles, iam_enforced
from .template import Template


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def busy_port(host: str, port: int) -> bool:
    """Whether ``port`` is taken (0, any free port, never is)."""
    if not port:
        return False
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _port_is_busy(what: str, variable: str, host: str, port: int) -> int:
    print(
        f"{what} port {port} on {host} is busy (another `make serve`?). Stop what uses it, or pick "
        f"another port: {variable}=8080 make serve",
        file=sys.stderr,
    )
    return 1


def serve(args: argparse.Namespace) -> int:
    # Checked before anything starts, to say which port and what to do instead of a traceback.
    if busy_port(args.host, args.port):
        return _port_is_busy("The API's", "PORT", args.host, args.port)
    if busy_port(args.host, args.aws_port):
        return _port_is_busy("The AWS emulation's", "AWS_PORT", args.host, args.aws_port)
    app = LocalApp(
        host=args.host,
        port=args.port,
        aws_port=args.aws_port,
        state_dir=args.state_dir,
        env_vars=args.env_vars,
        auth_mode=args.auth_mode,
        iam=args.iam,
    )
    try:
        app.start()  # stops what it started if anything fails
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:  # taken between the check and the start
            return _port_is_busy("A", "PORT", args.host, args.port)
        raise
    print(f"AWS emulation (moto): {app.aws.endpoint_url}", file=sys.stderr)
    if args.auth_mode == "cognito":
        print(
            f"Auth: Cognito emulation; get a token with: make token USER=alice PORT={app.url.rsplit(':', 1)[1]}",
            file=sys.stderr,
        )
    else:
        print(
            "Auth: none (open mode: anyone can edit or delete; AUTH_MODE=cognito make serve to sign in)",
            file=sys.stderr,
        )
    print(f"Web gallery:          {app.url}/   (open it in a browser)", file=sys.stderr)
    print(f"API docs:             {app.url}/docs   (the OpenAPI spec: {app.url}/openapi.yaml)", file=sys.stderr)
    print(f"Image service API:    {app.url}   (Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        _wait_for_signal()
    finally:
        print("stopping...", file=sys.stderr)
        app.stop()
    return 0


def token(args: argparse.Namespace) -> int:
    """Like signing in: ask the running local mode for an ID token; the token is the last line."""
    request = urllib.request.Request(  # noqa: S310 - a URL the user gives, normally loopback
        f"{args.url.rstrip('/')}/_local/token",
        data=json.dumps({"username": args.username}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        hint = " (is it running with AUTH_MODE=cognito?)" if exc.code == 403 else ""
        print(f"the local mode at {args.url} refused: {exc.code}{hint}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"no local mode at {args.url}: {exc}", file=sys.stderr)
        return 1
    print(
        f"ID token for {body['username']}, valid {body['expires_in']} s; use: -H 'Authorization: Bearer <token>'",
        file=sys.stderr,
    )
    print(body["id_token"])
    return 0


def invoke(args: argparse.Namespace) -> int:
    """Like ``sam local invoke``: one event through one function, the response on stdout."""
    template = Template(TEMPLATE_PATH)
    template.secrets = local_secrets(template, None)
    emulation = None
    endpoint = args.endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        emulation = AwsEmulation(template, iam=args.iam).start()
        endpoint = emulation.endpoint_url
    try:
        spec = template.function(args.function)
        credentials = emulation.function_credentials if emulation else external_credentials(template, endpoint, args)
        environment = function_environments(template, endpoint, read_env_vars(args.env_vars), credentials)[
            spec.logical_id
        ]
        pool = FunctionPool(spec, environment, max_workers=1)
        event = json.loads(Path(args.event).read_text())
        try:
            result = pool.invoke(event)
        except FunctionTimeout:
            print(json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": f"timed out after {spec.timeout} s"}))
            return 1
        except FunctionError as exc:
            print(json.dumps({"errorType": str(exc), "errorMessage": "the function raised"}))
            return 1
        finally:
            pool.close()
        print(json.dumps(result.payload))
        print(f"init {result.init_ms} ms, duration {result.duration_ms} ms", file=sys.stderr)
        return 0
    finally:
        if emulation is not None:
            emulation.stop()


def external_credentials(template: Template, endpoint: str, args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """The functions' roles in an emulation this command did not start (e.g. a running ``make serve``)."""
    if not (iam_enforced() if args.iam is None else args.iam):
        return {}
    host, _, port = endpoint.rsplit("/", 1)[-1].partition(":")
    emulation = AwsEmulation(template, host=host, port=int(port or 80))
    return create_roles(function_roles(template), *emulation.iam_clients(), template)


def aws(args: argparse.Namespace) -> int:
    template = Template(TEMPLATE_PATH)
    emulation = AwsEmulation(template, host=args.host, port=args.port).start()
    print(f"AWS emulation (moto): {emulation.endpoint_url}", flush=True)
    try:
        _wait_for_signal()
    finally:
        emulation.stop()
    return 0


def _iam_switch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-iam",
        dest="iam",
        action="store_false",
        default=None,
        help="run every function with unrestricted credentials instead of its own role (also: LOCAL_IAM=off)",
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines are noise here
    parser = argparse.ArgumentParser(prog="python -m localapi", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser(
        "serve",
        help="run the API locally (make serve)",
        description="Run the image service locally: the API, the web gallery at /, the API docs at /docs and "
        "Lambda's Invoke API, over an in-memory AWS emulation (no Docker, no AWS account). Ctrl-C stops it.",
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve_parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "3000")),
        help="the API's port; 0 picks a free one (default: $PORT or 3000)",
    )
    serve_parser.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("AWS_PORT", "0")),
        help="the AWS emulation's (moto) port, for tools that talk to it; 0 picks a free one (default: $AWS_PORT or 0)",
    )
    serve_parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ["STATE_DIR"]) if os.environ.get("STATE_DIR") else None,
        help="keep the photos and tables in this directory, saved as they change "
        "(default: $STATE_DIR; none: start empty, forget on exit)",
    )
    serve_parser.add_argument(
        "--env-vars",
        type=Path,
        help='a JSON file of environment overrides, as `sam local --env-vars`: {"Parameters": {...}} for '
        'every function, {"UploadFunction": {...}} for one; only variables the template declares '
        "(make serve ENV_VARS=env.json)",
    )
    serve_parser.add_argument(
        "--auth-mode",
        choices=["none", "cognito"],
        default=os.environ.get("AUTH_MODE", "none"),
        help="none: open, anyone may edit; cognito: sign-in required, as the deployed API "
        "(tokens from `make token USER=alice`) (default: $AUTH_MODE or none)",
    )
    _iam_switch(serve_parser)
    serve_parser.set_defaults(run=serve)

    token_parser = commands.add_parser("token", help="print an ID token from a running local mode (AUTH_MODE=cognito)")
    token_parser.add_argument("username")
    token_parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}")
    token_parser.set_defaults(run=token)

    invoke_parser = commands.add_parser("invoke", help="invoke one function with one event")
    invoke_parser.add_argument("function")
    invoke_parser.add_argument("event")
    invoke_parser.add_argument("--endpoint", help="a running AWS emulation (default: a fresh one)")
    invoke_parser.add_argument("--env-vars", type=Path)
    _iam_switch(invoke_parser)
    invoke_parser.set_defaults(run=invoke)

    aws_parser = commands.add_parser("aws", help="run only the AWS emulation")
    aws_parser.add_argument("--host", default="127.0.0.1")
    aws_parser.add_argument("--port", type=int, default=0)
    aws_parser.set_defaults(run=aws)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
