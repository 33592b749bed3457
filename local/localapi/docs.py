"""The API's documentation in the local mode: the spec at ``/openapi.yaml``, Swagger UI at ``/docs``.

Swagger UI's files come from the ``swagger-ui-bundle`` package (a dev requirement), served from
``/docs/...``: the page works offline, loads nothing from another origin (its Content Security
Policy says so to the browser) and has Swagger UI's online validator switched off. Its "Try it
out" calls this same server, as the spec's first ``servers`` entry is ``/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .gateway import Response

try:
    from swagger_ui_bundle import swagger_ui_path
except ImportError:  # the dev requirements are not installed: /docs says what to do
    swagger_ui_path = None

SPEC_PATH = Path(__file__).resolve().parent.parent.parent / "api" / "openapi.yaml"

# The Swagger UI files the page uses, and their media types.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}

PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Image service API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

# A file, not an inline script, so the Content Security Policy can forbid inline scripts.
# The page leads with the operations: the spec's introduction (sign-in, errors, which requests are
# accepted, ...) is long, and drawn in full it pushed the first operation ~800 px down. It stays
# under the title, folded (a plugin wrapping Swagger UI's Info component; nothing else changes).
INIT_JS = b"""const INTRODUCTION = "Introduction: signing in, errors, which requests are accepted, trying it out";

const FoldedIntroduction = () => ({
  wrapComponents: {
    info: (Original, system) => (props) => {
      const React = system.React;
      const description = props.info && props.info.get("description");
      if (!description) return React.createElement(Original, props);
      const Markdown = system.getComponent("Markdown", true);
      return React.createElement("div", null,
        React.createElement(Original, Object.assign({}, props, { info: props.info.delete("description") })),
        React.createElement("details", { className: "docs-introduction", "data-testid": "docs-introduction" },
          React.createElement("summary", null, INTRODUCTION),
          React.createElement(Markdown, { source: description })));
    },
  },
});

window.ui = SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  plugins: [FoldedIntroduction],
  // Each path's CORS preflight (OPTIONS) after the operations people call; otherwise spec order.
  operationsSorter: (a, b) => (a.get("method") === "options") - (b.get("method") === "options"),
  layout: "BaseLayout",
});
"""

# Swagger UI styles elements inline and shows SVG icons as data: URLs; everything else is ours.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def _headers(content_type: str, *, cache: bool) -> list[tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        ("Cache-Control", "public, max-age=3600" if cache else "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def _assets_dir() -> Path | None:
    return None if swagger_ui_path is None else Path(str(swagger_ui_path))


def docs_routes(spec_path: Path = SPEC_PATH) -> dict[str, Callable[[], Response]]:
    """``Gateway.extra_routes`` entries: path -> a function answering ``(status, headers, body)``."""

    def spec() -> Response:
        # Read on every request, so an edited spec shows without restarting the local mode.
        return 200, _headers("application/yaml; charset=utf-8", cache=False), spec_path.read_bytes()

    def page() -> Response:
        if _assets_dir() is None:
            message = b"Swagger UI is not installed: pip install -r requirements-dev.txt\n"
            return 503, _headers("text/plain; charset=utf-8", cache=False), message
        return 200, [*_headers("text/html; charset=utf-8", cache=False), ("Content-Security-Policy", CSP)], PAGE

    def init() -> Response:
        return 200, _headers("text/javascript; charset=utf-8", cache=False), INIT_JS

    def asset(name: str) -> Callable[[], Response]:
        def serve() -> Response:
            folder = _assets_dir()
            if folder is None:
                return 404, _headers("text/plain; charset=utf-8", cache=False), b"not found\n"
            return 200, _headers(ASSETS[name], cache=True), (folder / name).read_bytes()

        return serve

    routes: dict[str, Callable[[], Response]] = {
        "/openapi.yaml": spec,
        "/docs": page,
        "/docs/": page,
        "/docs/init.js": init,
    }
    routes.update({f"/docs/{name}": asset(name) for name in ASSETS})
    return routes
