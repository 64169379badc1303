#!/usr/bin/env bash
# Fuzzes the enterprise API with Schemathesis against a throw-away server on loopback.
#
# Builds the debug binary, starts it on an empty SQLite database in a temporary folder (which
# creates the demo reseller), authenticates as its admin and runs Schemathesis with every check
# on the operations of /enterprise_api/openapi.json (all but domain/verify, which would fetch from
# the domains it is given), then prints the figures. The server is stopped on exit. Only loopback
# is contacted. Exit status 1 when an answer is a 5xx or breaks the document, or when input the
# document rules out is accepted; see docs/security.md.
#
# Environment: PORT (default 18080), MAX_EXAMPLES per operation (default 50), SEED (default 1),
# MAX_TIME in seconds (unset by default; when set, Schemathesis keeps fuzzing until it is spent),
# REPORT_DIR (where the JUnit and NDJSON reports and the server log are kept; default: a temporary
# folder removed on exit). Extra arguments go to both `schemathesis run` passes.
set -euo pipefail

PORT="${PORT:-18080}"
MAX_EXAMPLES="${MAX_EXAMPLES:-50}"
SEED="${SEED:-1}"
# The password the `authenticate` example in the document uses, so that example signs in.
PASSWORD="Sup3rSecret!"
API_HOST="reseller-admin.localhost"
BASE="http://127.0.0.1:${PORT}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

command -v schemathesis >/dev/null || { echo "schemathesis not found: pip install schemathesis" >&2; exit 1; }

cd "$ROOT"
if command -v flock >/dev/null && [ -e /work/cargo-build.lock ]; then
  flock /work/cargo-build.lock cargo build
else
  cargo build
fi

WORK="$(mktemp -d)"
REPORT_DIR="${REPORT_DIR:-$WORK/reports}"
mkdir -p "$REPORT_DIR"
REPORT_DIR="$(cd "$REPORT_DIR" && pwd)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

CONFAB_DATA_DIR="$WORK/data" \
CONFAB_DATABASE_URL="sqlite://$WORK/confab.db" \
CONFAB_LISTEN="127.0.0.1:${PORT}" \
CONFAB_PUBLIC_PORT="${PORT}" \
CONFAB_MEDIA_UDP="127.0.0.1:0" \
CONFAB_BOOTSTRAP_PASSWORD="$PASSWORD" \
  "$ROOT/target/debug/confab" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
  curl -fsS -o /dev/null -H "Host: $API_HOST" "$BASE/enterprise_api/openapi.json" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done

TOKEN="$(curl -fsS -H "Host: $API_HOST" -H 'content-type: application/json' \
  -d "{\"email\":\"admin@localhost\",\"password\":\"$PASSWORD\"}" \
  "$BASE/enterprise_api/authenticate" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth_token"])')"

# The admin company may use its own OpenID Connect provider, so company/openid/* can succeed.
curl -fsS -o /dev/null -H "Host: $API_HOST" -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"company_id": 1, "openid_provider": true}' \
  "$BASE/enterprise_api/company/update"

curl -fsS -H "Host: $API_HOST" "$BASE/enterprise_api/openapi.json" >"$WORK/openapi.json"

# Pass 1: every operation but logout (it would end the session the other requests use) and
# domain/verify (it fetches a token from the named domain, which would leave loopback).
# Pass 2: logout alone, last (it has no links, so no stateful phase).
run_pass() {
  # From the temporary folder, so Schemathesis keeps its cache of failures there.
  (cd "$WORK" && schemathesis run "$WORK/openapi.json" \
    --url "$BASE" \
    -H "Host: $API_HOST" \
    -H "Authorization: Bearer $TOKEN" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" \
    --workers 1 \
    --seed "$SEED" \
    "${TIME_LIMIT[@]}" \
    "$@" "${EXTRA[@]}")
}
EXTRA=("$@")
TIME_LIMIT=()
[ -n "${MAX_TIME:-}" ] && TIME_LIMIT=(--max-time "$MAX_TIME")

set +e
run_pass --exclude-path /enterprise_api/logout --exclude-path /enterprise_api/domain/verify \
  --report junit,ndjson --report-junit-path "$REPORT_DIR/operations.xml" --report-ndjson-path "$REPORT_DIR/operations.ndjson"
ST_STATUS=$?
run_pass --include-path /enterprise_api/logout --phases examples,coverage,fuzzing \
  --report junit,ndjson --report-junit-path "$REPORT_DIR/logout.xml" --report-ndjson-path "$REPORT_DIR/logout.ndjson"
ST_STATUS=$(( ST_STATUS | $? ))
set -e
echo "schemathesis exit status: $ST_STATUS (also non-zero for positive_data_acceptance findings)"

# Figures of both passes from the NDJSON reports: requests sent, answers by status, failed checks.
set +e
python3 - "$REPORT_DIR/operations.ndjson" "$REPORT_DIR/logout.ndjson" <<'PY'
import collections, json, sys
statuses = collections.defaultdict(collections.Counter)
failed = collections.defaultdict(set)
for path in sys.argv[1:]:
    for line in open(path):
        event = json.loads(line).get("ScenarioFinished")
        if not event:
            continue
        recorder = event["recorder"]
        for interaction in recorder.get("interactions", {}).values():
            response = interaction.get("response") or {}
            request = interaction["request"]
            # Stateful scenarios chain several operations under one label: name each request's.
            path = "/" + request["uri"].split("/", 3)[3].split("?")[0]
            label = f'{request["method"]} {path}'
            statuses[label][response.get("status_code", "no answer")] += 1
        for case, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check["status"] == "failure":
                    failed[check["name"]].add((recorder["label"], case))
# Every documented method is a POST; the others are the unsupported_method probes.
probes = {label: statuses.pop(label) for label in list(statuses) if not label.startswith("POST ")}
requests = sum(sum(c.values()) for c in statuses.values())
server_errors = sum(n for c in statuses.values() for s, n in c.items() if isinstance(s, int) and s >= 500)
probe_answers = collections.Counter()
for c in probes.values():
    probe_answers.update(c)
print("other methods (unsupported_method probes):", dict(probe_answers))
schema = ("status_code_conformance", "content_type_conformance", "response_headers_conformance", "response_schema_conformance")
print(f"operations: {len(statuses)}, requests: {requests}, 5xx answers: {server_errors}")
print("schema violations:", sum(len(failed.get(c, ())) for c in schema))
for name in sorted(failed):
    print(f"failed check {name}: {len(failed[name])} cases, in", sorted({label for label, _ in failed[name]}))
with_200 = [label for label, c in statuses.items() if c.get(200)]
print(f"operations with a 200: {len(with_200)} of {len(statuses)}")
for label in sorted(statuses):
    print(f"  {label}: " + ", ".join(f"{s}x{n}" for s, n in sorted(statuses[label].items(), key=str)))
# A 5xx, an answer the document does not describe, or input the document rules out being
# accepted fails the run. positive_data_acceptance is reported only: it also flags refusals that
# depend on state or on rules a schema cannot say (reserved names, ids that do not exist).
sys.exit(1 if server_errors or sum(len(failed.get(c, ())) for c in schema) or failed.get("negative_data_rejection") else 0)
PY
STATUS=$?
set -e

if grep -q "internal error" "$WORK/server.log"; then
  echo "server logged internal errors:" >&2
  grep "internal error" "$WORK/server.log" | head -20 >&2
  STATUS=1
fi
if [ "$REPORT_DIR" != "$WORK/reports" ]; then
  cp "$WORK/server.log" "$REPORT_DIR/server.log"
  echo "reports and server log: $REPORT_DIR"
fi
exit $STATUS
