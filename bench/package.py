"""Size of each built function and of the built layer (the ``sam build`` output).

Unzipped bytes are what counts against Lambda's 250 MB limit (a function plus its layers);
zipped bytes are what is uploaded and what a cold start downloads. The zip is made here the way
``sam package`` makes it (deflate), in memory.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

from . import harness

UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024  # a function and all its layers, unzipped
ZIPPED_DIRECT_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024


def files_under(root: Path) -> list[Path]:
    found = []
    for directory, _, names in os.walk(root):
        found += [Path(directory) / name for name in names]
    return sorted(found)


def measure(root: Path) -> dict[str, Any]:
    files = files_under(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root).as_posix())
    return {
        "files": len(files),
        "unzipped_bytes": sum(path.stat().st_size for path in files),
        "zipped_bytes": len(buffer.getvalue()),
    }


def snapshot(build_dir: Path, into: Path) -> Path | None:
    """Copy the build output, so a ``sam build`` running meanwhile cannot change it under the bench."""
    if not (build_dir / "template.yaml").is_file():
        return None
    target = into / "build"
    shutil.copytree(build_dir, target, symlinks=True)
    return target


def function_layers() -> dict[str, list[str]]:
    """Function logical id -> the logical ids of its layers (from the template)."""
    template = harness.load_template()
    layer_ids = {
        template.root / resource["Properties"]["ContentUri"]: logical_id
        for logical_id, resource in template.resources.items()
        if resource.get("Type") == "AWS::Serverless::LayerVersion"
    }
    return {spec.logical_id: [layer_ids[d] for d in spec.layer_dirs] for spec in template.functions()}


def run(build_dir: Path | None) -> dict[str, Any]:
    if build_dir is None:
        return {"built": False, "message": "no sam build output: run `make build` first"}
    artifacts: dict[str, Any] = {}
    layer_parts: dict[str, dict[str, int]] = {}
    for path in sorted(p for p in build_dir.iterdir() if p.is_dir()):
        artifacts[path.name] = {"kind": "layer" if (path / "python").is_dir() else "function", **measure(path)}
        if artifacts[path.name]["kind"] == "layer":
            parts = layer_parts.setdefault(path.name, {})
            for part in sorted((path / "python").iterdir()):
                size = sum(f.stat().st_size for f in files_under(part)) if part.is_dir() else part.stat().st_size
                parts[part.name] = size
    uses = function_layers()
    for name, artifact in artifacts.items():
        if artifact["kind"] == "function":
            layers = uses.get(name, [])
            artifact["layers"] = layers
            artifact["deployed_unzipped_bytes"] = artifact["unzipped_bytes"] + sum(
                artifacts[layer]["unzipped_bytes"] for layer in layers if layer in artifacts
            )
            artifact["deployed_zipped_bytes"] = artifact["zipped_bytes"] + sum(
                artifacts[layer]["zipped_bytes"] for layer in layers if layer in artifacts
            )
            artifact["share_of_limit"] = round(artifact["deployed_unzipped_bytes"] / UNZIPPED_LIMIT_BYTES, 3)
    own = sum(parts.get("image_service", 0) for parts in layer_parts.values())
    layer_bytes = sum(a["unzipped_bytes"] for a in artifacts.values() if a["kind"] == "layer")
    return {
        "built": True,
        "artifacts": artifacts,
        "layer_parts_bytes": {
            layer: dict(sorted(parts.items(), key=lambda item: -item[1])) for layer, parts in layer_parts.items()
        },
        "layer_own_code_bytes": own,
        "layer_extra_packages_bytes": layer_bytes - own,
        "unzipped_limit_bytes": UNZIPPED_LIMIT_BYTES,
        "zipped_direct_upload_limit_bytes": ZIPPED_DIRECT_UPLOAD_LIMIT_BYTES,
    }
