#!/usr/bin/env bash
# Provide the Lambda python3.11 base image that `sam local` runs the functions in (--invoke-image).
#
#   scripts/lambda_image/build.sh [IMAGE]        (default: $LAMBDA_IMAGE or image-service/lambda-python:3.11)
#
# Where the official image can be pulled, it is used (tagged as IMAGE). Where it cannot (offline
# machines, CI), a Lambda-compatible image is built from Debian packages: a minimal bookworm root
# with python3 (debootstrap, which needs root), the Python runtime interface client and boto3 in
# /var/runtime, and ./bootstrap as /var/runtime/bootstrap. The SAM CLI adds its own runtime
# interface emulator on top. The built image carries a hash of its inputs, so a second run finds
# it and takes about a second. Needs a running Docker engine (run it through scripts/with_docker.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
image="${1:-${LAMBDA_IMAGE:-image-service/lambda-python:3.11}}"
official="public.ecr.aws/lambda/python:3.11"
python="${PIP_PYTHON:-$root/.venv/bin/python}"
label="image-service.lambda-image.key"
# One boto3 version everywhere: the one the tests run with.
boto3_pin="$(grep -E '^boto3==' "$root/requirements-dev.txt")"
key="$({ cat "$here/build.sh" "$here/bootstrap" "$here/requirements.txt"; echo "$boto3_pin"; } | sha256sum | cut -c1-16)"

die() { echo "lambda-image: $*" >&2; exit 1; }
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
started=$SECONDS

# 1. Already there: built from these very inputs, or the official image tagged earlier.
if [ "$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)" = "$key" ]; then
  echo "lambda-image: $image is up to date (built locally)"
  exit 0
fi
if [ -n "$(image_id "$image")" ] && [ "$(image_id "$image")" = "$(image_id "$official")" ]; then
  echo "lambda-image: $image is up to date ($official)"
  exit 0
fi

# 2. The official image, where a registry answers.
if timeout 300 docker pull --quiet "$official" >/dev/null 2>&1; then
  docker tag "$official" "$image"
  echo "lambda-image: $image = $official (pulled in $((SECONDS - started)) s)"
  exit 0
fi
echo "lambda-image: cannot pull $official; building a Lambda-compatible image from Debian packages"

# 3. Build it: Debian bookworm's python3 is CPython 3.11, the Lambda runtime's version.
[ "$(id -u)" = 0 ] || die "building the image needs root (debootstrap); or make $official pullable"
if ! command -v debootstrap >/dev/null; then
  [ -r /etc/debian_version ] || die "debootstrap is not installed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } ||
    die "could not install debootstrap"
fi
[ -x "$python" ] || die "$python not found (run make env first, or set PIP_PYTHON to a python3.11)"

work="$(mktemp -d /var/tmp/lambda-image.XXXXXX)"
rootfs="$work/rootfs"
cleanup() {
  # debootstrap mounts /proc and /sys inside the root while it works; never delete through them.
  for mount in proc sys dev/pts dev; do umount -l "$rootfs/$mount" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "lambda-image: debootstrap (minimal bookworm + python3)..."
# DEBIAN_MIRROR picks a mirror; by default debootstrap uses its own.
# shellcheck disable=SC2086
debootstrap --variant=minbase --include=python3 bookworm "$rootfs" ${DEBIAN_MIRROR:-} >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
echo "lambda-image: runtime interface client and $boto3_pin..."
mkdir -p "$rootfs/var/runtime" "$rootfs/var/task" "$rootfs/opt"
"$python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location --only-binary=:all: \
  --target "$rootfs/var/runtime" -r "$here/requirements.txt" "$boto3_pin" ||
  die "pip install into the image failed"
install -m 0755 "$here/bootstrap" "$rootfs/var/runtime/bootstrap"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

echo "lambda-image: docker import..."
tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change "LABEL $label=$key" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV TZ=:UTC' \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
  --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'WORKDIR /var/task' \
  - "$image" >/dev/null
echo "lambda-image: built $image in $((SECONDS - started)) s"
