"""The boto3 type stubs are a development tool (mypy, ``make lint``): Lambda has none, so the
layer may only name them under ``TYPE_CHECKING``. Every module of the layer must import without
them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORT_EVERY_MODULE_WITHOUT_STUBS = """
import importlib, pkgutil, sys

class NoStubs:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0].startswith(("types_boto3", "mypy_boto3", "botocore_stubs")):
            raise ImportError(f"{name}: the stubs are not deployed")
        return None

sys.meta_path.insert(0, NoStubs())
import image_service
names = sorted(module.name for module in pkgutil.iter_modules(image_service.__path__))
for name in names:
    importlib.import_module(f"image_service.{name}")
print(len(names))
"""


def test_every_layer_module_imports_without_the_stubs() -> None:
    paths = [str(ROOT / "layers" / "storage"), str(ROOT / "layers" / "imaging")]
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE_WITHOUT_STUBS],
        env={"PYTHONPATH": ":".join(paths), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 25  # every module of both layers, not an empty package
