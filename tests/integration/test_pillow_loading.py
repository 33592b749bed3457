"""Pillow is deployed with the upload function only, and loaded by no function at cold start: each
function imported in a fresh process as Lambda would (its code and layers on the path, a moto
account for what the list function reads while importing)."""

from __future__ import annotations

import subprocess
import sys

from tests.support.environment import FUNCTIONS, ROOT


def test_only_the_upload_function_deploys_pillow_and_no_function_loads_it_at_init() -> None:
    """Pillow costs cold-start time and 23 MB: only the upload function's layers hold it (with the
    modules that use it), and even there the first request that decodes an image imports it.
    pillow-heif (25 MB more) likewise, and only once a HEIF photo arrives."""

    def requirements(layer: str) -> str:
        lines = (ROOT / "layers" / layer / "requirements.txt").read_text().lower().splitlines()
        return " ".join(line for line in lines if not line.startswith("#"))

    assert "pillow" not in requirements("storage")
    assert "pillow" in requirements("imaging")
    assert "pillow-heif" in requirements("imaging")
    # The list function reads its key from Secrets Manager while importing: a moto account has it.
    code = """if True:
        import importlib.util as u, os, sys
        import boto3
        from moto import mock_aws
        with mock_aws():
            if os.environ.get("CURSOR_SECRET_ARN"):
                name = os.environ["CURSOR_SECRET_ARN"].split(":secret:", 1)[1]
                boto3.client("secretsmanager").create_secret(Name=name, SecretString="k" * 32)
            import app
        print('PIL' in sys.modules or 'pillow_heif' in sys.modules, bool(u.find_spec('image_service.imaging')))
    """
    for logical_id, spec in FUNCTIONS.items():
        # The function's code and its own layers, as Lambda puts them on the import path.
        path = ":".join(str(p) for p in (spec.code_dir, *spec.layer_dirs))
        env = {"PYTHONPATH": path, "AWS_DEFAULT_REGION": "us-east-1", **spec.environment}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        assert out.split() == ["False", str(logical_id == "UploadFunction")], logical_id
