"""Delete a deployed stack and everything in its buckets (`make destroy`; `CONFIRM=yes` skips the question).

CloudFormation cannot delete a bucket that holds anything, so `sam delete` alone fails on this
stack: the images bucket holds the photos, the web bucket the gallery, and the access-log bucket
is versioned (every log object and every delete marker is a version of its own). This script
asks first, then removes every object version, delete marker and unfinished multipart upload
of the three buckets, deletes the stack and waits. S3 delivers access logs late (up to hours):
a log that lands after the log bucket was emptied fails the deletion, so the buckets are emptied
again and the deletion retried, a few times.

Kept on purpose (see README, "Tear down"):
- the API Gateway CloudWatch role (DeletionPolicy Retain): the account's API Gateway setting
  points at it, and other APIs of the account keep logging through it;
- the SAM CLI's artifact bucket (its own stack, aws-sam-cli-managed-default), shared by every
  SAM stack of the account in the region.
Everything else goes with the stack: photos, tables (and their point-in-time recovery), the user
pool with every account, log groups, the CloudFront distribution (which CloudFormation first
disables: the deletion takes a while).

    python scripts/destroy_stack.py [--stack-name NAME] [--region REGION] [--yes]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError, WaiterError
from publish_web import samconfig_defaults

# The buckets the stack creates, by logical id.
BUCKETS = ("ImagesBucket", "WebBucket", "AccessLogsBucket")
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys
ATTEMPTS = 3


def stack_buckets(cloudformation: Any, stack_name: str) -> list[str]:
    """Names of the stack's buckets that exist (a failed deletion may have removed some)."""
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    return [
        r["PhysicalResourceId"]
        for r in resources
        if r["LogicalResourceId"] in BUCKETS
        and r.get("PhysicalResourceId")
        and r["ResourceStatus"] != "DELETE_COMPLETE"
    ]


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version, delete marker and unfinished multipart upload; return the
    number of versions and markers deleted. A bucket that no longer exists is already empty."""
    try:
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for upload in page.get("Uploads", []):
                s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])

        deleted = 0
        while True:
            # From the start each round: a listing's page marker means little once its objects
            # are gone. Unversioned buckets list their objects here too (version id "null").
            page = s3.list_object_versions(Bucket=bucket, MaxKeys=DELETE_BATCH)
            batch = [
                {"Key": entry["Key"], "VersionId": entry["VersionId"]}
                for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ][:DELETE_BATCH]
            if not batch:
                break
            response = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise RuntimeError(f"{bucket}: could not delete {first['Key']}: {first.get('Message', '')}")
            deleted += len(batch)
        return deleted
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return 0
        raise


def destroy(
    cloudformation: Any, s3: Any, stack_name: str, *, say: Callable[[str], None] = print, attempts: int = ATTEMPTS
) -> None:
    for attempt in range(1, attempts + 1):
        for bucket in stack_buckets(cloudformation, stack_name):
            say(f"emptying s3://{bucket} ... {empty_bucket(s3, bucket)} object versions deleted")
        say(f"deleting stack {stack_name} (the CloudFront distribution takes a while) ...")
        cloudformation.delete_stack(StackName=stack_name)
        try:
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=stack_name, WaiterConfig={"Delay": 15, "MaxAttempts": 240}
            )
            say(f"stack {stack_name} deleted")
            return
        except WaiterError as exc:
            if attempt == attempts:
                raise
            say(f"deletion did not complete ({exc}); emptying the buckets again (late access logs?)")


def stack_exists(cloudformation: Any, stack_name: str) -> bool:
    try:
        cloudformation.describe_stacks(StackName=stack_name)
    except ClientError as exc:
        if "does not exist" in str(exc):
            return False
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    defaults = samconfig_defaults()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", default=defaults.get("stack_name", "image-service"))
    parser.add_argument("--region", default=defaults.get("region"))
    parser.add_argument("--yes", action="store_true", help="do not ask (make destroy CONFIRM=yes)")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    cloudformation, s3 = session.client("cloudformation"), session.client("s3")
    if not stack_exists(cloudformation, args.stack_name):
        print(f"no stack {args.stack_name} in {session.region_name}: nothing to delete")
        return 0
    if not args.yes:
        print(
            f"This deletes stack {args.stack_name} in {session.region_name} with every photo, every user "
            "account and every log of it. It cannot be undone."
        )
        if input(f"Type the stack name ({args.stack_name}) to go on: ").strip() != args.stack_name:
            print("Nothing was deleted.")
            return 1
    destroy(cloudformation, s3, args.stack_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
