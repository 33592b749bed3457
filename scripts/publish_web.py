"""Publish web/ to a deployed stack's gallery (`make publish-web`; `make deploy` runs it).

Reads the stack's outputs, writes config.json naming the stack's API and (with AuthMode
cognito) its hosted sign-in pages, uploads every file of web/ under the same paths the local
servers use (localapi.web.site_files), removes files that are no longer in web/, and invalidates
CloudFront's copies so the new page shows at once.

    python scripts/publish_web.py [--stack-name NAME] [--region REGION]

Stack name and region default to samconfig.toml's [default] section (as `sam deploy` uses them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "local"))

from localapi.web import WEB_DIR, media_type, page_config, site_files  # noqa: E402

# Every file is revalidated by browsers (its ETag), so a new publish is seen on the next visit.
CACHE_CONTROL = "no-cache"


def samconfig_defaults(path: Path = ROOT / "samconfig.toml", env: str = "default") -> dict[str, str]:
    config = tomllib.loads(path.read_text())[env]
    merged: dict[str, str] = {}
    for section in ("global", "deploy"):
        merged.update(config.get(section, {}).get("parameters", {}))
    return merged


def describe_stack(cloudformation: Any, stack_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The deployed stack's outputs and parameters."""
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return outputs, parameters


def config_for(outputs: dict[str, str], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The page's config.json for a deployed stack (Cognito when the stack has a user pool)."""
    if "UserPoolClientId" in outputs:
        return page_config(
            api_url=outputs["ApiUrl"],
            auth_mode="cognito",
            cognito_domain=outputs["UserPoolDomainUrl"],
            cognito_client_id=outputs["UserPoolClientId"],
            public_reads=(parameters or {}).get("PublicReads", "true") != "false",
        )
    return page_config(api_url=outputs["ApiUrl"])


def publish(
    s3: Any, cloudfront: Any, outputs: dict[str, str], parameters: dict[str, str] | None = None, web_dir: Path = WEB_DIR
) -> list[str]:
    """Upload the site with its config; return the keys written."""
    bucket = outputs["WebBucketName"]
    bodies: dict[str, tuple[bytes, str]] = {}
    for url_path, path in site_files(web_dir).items():
        key = "index.html" if url_path == "/" else url_path.lstrip("/")
        bodies[key] = (path.read_bytes(), media_type(path))
    bodies["config.json"] = (json.dumps(config_for(outputs, parameters), indent=2).encode(), "application/json")
    for key, (body, content_type) in sorted(bodies.items()):
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, CacheControl=CACHE_CONTROL)
    stale = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
        if obj["Key"] not in bodies
    ]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in stale[start : start + 1000]]})
    cloudfront.create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"publish-{time.time_ns()}"},
    )
    return sorted(bodies)


def main(argv: list[str] | None = None) -> int:
    defaults = samconfig_defaults()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", default=defaults.get("stack_name", "image-service"))
    parser.add_argument("--region", default=defaults.get("region"))
    args = parser.parse_args(argv)
    session = boto3.Session(region_name=args.region)
    outputs, parameters = describe_stack(session.client("cloudformation"), args.stack_name)
    keys = publish(session.client("s3"), session.client("cloudfront"), outputs, parameters)
    print(f"published {len(keys)} files to s3://{outputs['WebBucketName']}/", file=sys.stderr)
    print(f"Web gallery: {outputs['WebUrl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
