"""The tests' process as Lambda sees it: the layers and the local mode on the import path, the
template's functions, and the union of their environments (one process runs all four functions).

Imported first by ``tests/conftest.py``, and by any helper that needs the layer or the template.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Both layers (the imaging layer adds Pillow's modules to the package image_service).
sys.path[:0] = [
    str(ROOT / "layers" / "storage"),
    str(ROOT / "layers" / "imaging"),
    str(ROOT / "local"),
    str(ROOT / "scripts"),
]

import moto  # noqa: E402, F401  (imported before any client is created, so moto sees them all)

from localapi.template import Template  # noqa: E402

TEST_CURSOR_SECRET = "test-cursor-secret-0123456789abcdef"
TEMPLATE = Template(ROOT / "template.yaml", secrets={"CursorSigningSecret": TEST_CURSOR_SECRET})
FUNCTIONS = {spec.logical_id: spec for spec in TEMPLATE.functions()}

# One process runs all four functions: give it the union of their environments.
os.environ.update(
    {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
)
os.environ.pop("AWS_ENDPOINT_URL", None)
for _spec in FUNCTIONS.values():
    os.environ.update(_spec.environment)
