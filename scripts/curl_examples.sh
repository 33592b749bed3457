#!/usr/bin/env bash
# curl walk-through of the image service API.
#
#   scripts/curl_examples.sh upload FILE [USER] [TAGS]   e.g. upload photo.jpg alice "beach,sunset"
#   scripts/curl_examples.sh upload_raw FILE [USER] [TAGS]      the bytes as the body (curl --data-binary)
#   scripts/curl_examples.sh upload_direct FILE [USER] [TAGS]   large photos: a pre-signed POST straight to S3
#   scripts/curl_examples.sh edit IMAGE_ID JSON              e.g. edit ID '{"title": "New", "tags": ["a"]}'
#   scripts/curl_examples.sh list_user USER [LIMIT] [NEXT_TOKEN]
#   scripts/curl_examples.sh list_tag TAG [LIMIT] [NEXT_TOKEN]
#   scripts/curl_examples.sh get IMAGE_ID
#   scripts/curl_examples.sh download IMAGE_ID [OUT_FILE]   prints the pre-signed URL, saves the bytes
#   scripts/curl_examples.sh delete IMAGE_ID
#
# API_URL defaults to the local mode (make serve); set it to a deployed stack's ApiUrl output to
# use AWS. TOKEN, if set, is sent as "Authorization: Bearer $TOKEN" (Cognito auth mode).
set -euo pipefail
API_URL="${API_URL:-http://127.0.0.1:3000}"
API_URL="${API_URL%/}"
AUTH=()
if [ -n "${TOKEN:-}" ]; then AUTH=(-H "Authorization: Bearer ${TOKEN}"); fi

mime_type() { python3 -c 'import mimetypes, sys; print(mimetypes.guess_type(sys.argv[1])[0] or "application/octet-stream")' "$1"; }

json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

json_body() {  # FILE USER TAGS -> the POST /images JSON body on stdout (no jq needed)
  python3 - "$@" <<'PY'
import base64, json, mimetypes, pathlib, sys
path, user, tags = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
body = {"user_id": user, "title": path.stem, "content_type": content_type,
        "tags": [t for t in tags.split(",") if t.strip()],
        "image_base64": base64.b64encode(path.read_bytes()).decode("ascii")}
json.dump(body, sys.stdout)
PY
}

query() {  # NAME VALUE [LIMIT] [NEXT_TOKEN] -> a URL-encoded query string
  python3 -c 'import sys, urllib.parse as u; a = sys.argv[1:]; q = {a[0]: a[1]}
if len(a) > 2 and a[2]: q["limit"] = a[2]
if len(a) > 3 and a[3]: q["next_token"] = a[3]
print(u.urlencode(q))' "$@"
}

command="${1:-help}"
shift || true
case "$command" in
  upload)
    file="${1:?usage: upload FILE [USER] [TAGS]}"
    json_body "$file" "${2:-alice}" "${3:-}" |
      curl -sS -X POST "${API_URL}/images" "${AUTH[@]}" -H "Content-Type: application/json" --data-binary @-
    echo ;;
  upload_raw)
    file="${1:?usage: upload_raw FILE [USER] [TAGS]}"
    curl -sS -X POST "${API_URL}/images?$(query user_id "${2:-alice}")&tags=${3:-}" "${AUTH[@]}" \
      -H "Content-Type: $(mime_type "$file")" --data-binary "@${file}"
    echo ;;
  upload_direct)
    file="${1:?usage: upload_direct FILE [USER] [TAGS]}"
    started=$(python3 -c 'import json, sys; print(json.dumps({"user_id": sys.argv[1], "content_type": sys.argv[2],
      "title": sys.argv[3], "tags": [t for t in sys.argv[4].split(",") if t.strip()]}))' \
      "${2:-alice}" "$(mime_type "$file")" "$(basename "${file%.*}")" "${3:-}" |
      curl -sS -X POST "${API_URL}/images/uploads" "${AUTH[@]}" -H "Content-Type: application/json" --data-binary @-)
    id=$(echo "$started" | json_field image_id)
    # The form fields of the pre-signed POST, then the file itself (it must come last).
    form=()
    while IFS= read -r field; do form+=(-F "$field"); done < <(echo "$started" |
      python3 -c 'import json, sys; [print(f"{k}={v}") for k, v in json.load(sys.stdin)["upload"]["fields"].items()]')
    curl -sS -o /dev/null -w "storage answered %{http_code}\n" "${form[@]}" -F "file=@${file}" \
      "$(echo "$started" | python3 -c 'import json, sys; print(json.load(sys.stdin)["upload"]["url"])')"
    # The S3 event finalises the upload: wait until the image is visible.
    for _ in $(seq 1 50); do
      body=$(curl -sS "${API_URL}/images/${id}") && case "$body" in *'"image_id"'*) echo "$body"; exit 0 ;; esac
      sleep 0.2
    done
    echo "$body"; exit 1 ;;
  edit)
    curl -sS -X PATCH "${API_URL}/images/${1:?usage: edit IMAGE_ID JSON}" "${AUTH[@]}" \
      -H "Content-Type: application/json" --data-binary "${2:?usage: edit IMAGE_ID JSON}"
    echo ;;
  list_user) curl -sS "${API_URL}/images?$(query user_id "${1:?usage: list_user USER}" "${2:-}" "${3:-}")"; echo ;;
  list_tag) curl -sS "${API_URL}/images?$(query tag "${1:?usage: list_tag TAG}" "${2:-}" "${3:-}")"; echo ;;
  get) curl -sS "${API_URL}/images/${1:?usage: get IMAGE_ID}"; echo ;;
  download)
    id="${1:?usage: download IMAGE_ID [OUT_FILE]}"
    url=$(curl -sS "${API_URL}/images/${id}/download" | python3 -c 'import json, sys; print(json.load(sys.stdin)["url"])')
    echo "$url"
    curl -sS -o "${2:-${id}.img}" "$url" && echo "saved ${2:-${id}.img}" ;;
  delete) curl -sS -X DELETE "${API_URL}/images/${1:?usage: delete IMAGE_ID}" "${AUTH[@]}" -w "%{http_code}\n" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
