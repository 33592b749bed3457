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
#   scripts/curl_examples.sh newest USER                    the image_id of USER's newest photo
#   scripts/curl_examples.sh download IMAGE_ID [OUT_FILE]   prints the pre-signed URL, saves the bytes
#   scripts/curl_examples.sh delete IMAGE_ID
#
# API_URL defaults to the local mode (make serve) on port 3000: with PORT=8080 make serve, set
# API_URL=http://127.0.0.1:8080; set it to a deployed stack's ApiUrl output to use AWS. TOKEN, if
# set, is sent as "Authorization: Bearer $TOKEN" (Cognito auth mode). The upload commands exit
# non-zero, with the service's {"message", "code"}, when the photo is refused.
set -euo pipefail
API_URL="${API_URL:-http://127.0.0.1:3000}"
API_URL="${API_URL%/}"
AUTH=()
if [ -n "${TOKEN:-}" ]; then AUTH=(-H "Authorization: Bearer ${TOKEN}"); fi

mime_type() { python3 -c 'import mimetypes, sys; print(mimetypes.guess_type(sys.argv[1])[0] or "application/octet-stream")' "$1"; }

json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

need_file() {  # FILE: stop before sending nothing
  [ -f "$1" ] || {
    echo "no such file: $1 (python3 scripts/sample_image.py writes photo.png, photo.jpg and big.jpg)" >&2
    exit 2
  }
}

request() {  # curl ARGS...: print the answer; an HTTP error (its JSON says why) fails the command
  local answer status
  answer=$(curl -sS -w '\n%{http_code}' "$@")
  status="${answer##*$'\n'}"
  answer="${answer%$'\n'*}"
  echo "$answer"
  case "$status" in 2??) ;; *) echo "the API answered ${status}" >&2; return 1 ;; esac
}

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
    need_file "$file"
    json_body "$file" "${2:-alice}" "${3:-}" |
      request -X POST "${API_URL}/images" "${AUTH[@]}" -H "Content-Type: application/json" --data-binary @- ;;
  upload_raw)
    file="${1:?usage: upload_raw FILE [USER] [TAGS]}"
    need_file "$file"
    request -X POST "${API_URL}/images?$(query user_id "${2:-alice}")&$(query title "$(basename "${file%.*}")")&tags=${3:-}" \
      "${AUTH[@]}" \
      -H "Content-Type: $(mime_type "$file")" --data-binary "@${file}" ;;
  upload_direct)
    file="${1:?usage: upload_direct FILE [USER] [TAGS]}"
    need_file "$file"
    # 1. Reserve an id and get a pre-signed POST (refused here: a type the service does not take).
    started=$(python3 -c 'import json, sys; print(json.dumps({"user_id": sys.argv[1], "content_type": sys.argv[2],
      "title": sys.argv[3], "tags": [t for t in sys.argv[4].split(",") if t.strip()]}))' \
      "${2:-alice}" "$(mime_type "$file")" "$(basename "${file%.*}")" "${3:-}" |
      request -X POST "${API_URL}/images/uploads" "${AUTH[@]}" -H "Content-Type: application/json" --data-binary @-) ||
      { echo "$started"; exit 1; }
    id=$(echo "$started" | json_field image_id)
    # 2. The form fields of the pre-signed POST, then the file itself (it must come last).
    form=()
    while IFS= read -r field; do form+=(-F "$field"); done < <(echo "$started" |
      python3 -c 'import json, sys; [print(f"{k}={v}") for k, v in json.load(sys.stdin)["upload"]["fields"].items()]')
    stored=$(curl -sS -w '\n%{http_code}' "${form[@]}" -F "file=@${file}" \
      "$(echo "$started" | python3 -c 'import json, sys; print(json.load(sys.stdin)["upload"]["url"])')")
    echo "storage answered ${stored##*$'\n'}"
    case "${stored##*$'\n'}" in 2??) ;; *) echo "${stored%$'\n'*}"; exit 1 ;; esac
    # 3. The S3 event makes the service check the file: 404 while it does, then 200 with the
    #    image, or 422 with the reason it was refused.
    for _ in $(seq 1 150); do
      answer=$(curl -sS -w '\n%{http_code}' "${API_URL}/images/${id}")
      status="${answer##*$'\n'}"
      body="${answer%$'\n'*}"
      case "$status" in
        200) echo "$body"; exit 0 ;;
        404) sleep 0.2 ;;
        *) echo "$body"; echo "the upload was refused (${status})" >&2; exit 1 ;;
      esac
    done
    echo "$body"; echo "image ${id} is still not ready after 30 s" >&2; exit 1 ;;
  edit)
    curl -sS -X PATCH "${API_URL}/images/${1:?usage: edit IMAGE_ID JSON}" "${AUTH[@]}" \
      -H "Content-Type: application/json" --data-binary "${2:?usage: edit IMAGE_ID JSON}"
    echo ;;
  list_user) curl -sS "${API_URL}/images?$(query user_id "${1:?usage: list_user USER}" "${2:-}" "${3:-}")"; echo ;;
  list_tag) curl -sS "${API_URL}/images?$(query tag "${1:?usage: list_tag TAG}" "${2:-}" "${3:-}")"; echo ;;
  get) curl -sS "${API_URL}/images/${1:?usage: get IMAGE_ID}"; echo ;;
  newest)
    curl -sS "${API_URL}/images?$(query user_id "${1:?usage: newest USER}" 1)" |
      python3 -c 'import json, sys; items = json.load(sys.stdin).get("items") or sys.exit("no photos")
print(items[0]["image_id"])' ;;
  download)
    id="${1:?usage: download IMAGE_ID [OUT_FILE]}"
    url=$(curl -sS "${API_URL}/images/${id}/download" | python3 -c 'import json, sys; print(json.load(sys.stdin)["url"])')
    echo "$url"
    curl -sS -o "${2:-${id}.img}" "$url" && echo "saved ${2:-${id}.img}" ;;
  delete) curl -sS -X DELETE "${API_URL}/images/${1:?usage: delete IMAGE_ID}" "${AUTH[@]}" -w "%{http_code}\n" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
