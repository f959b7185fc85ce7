#!/usr/bin/env bash
# schemathesis against every OpenAPI document the server serves, with every
# check (`--checks all`, set in .ci/schemathesis.toml so that its per-route
# exclusions apply), a fixed seed and a bounded number of examples per
# operation, so that a failure is reproducible and the step stays well under
# 10 minutes on CI's 2 cores. 0 failures or the step fails.
#
# Usage: .ci/schemathesis.sh [USERHUB_BINARY] (default target/debug/userhub).
# Needs `st` (schemathesis, pinned in .ci/requirements.txt) on PATH or in
# target/ci-venv/bin, which .ci/run prepares.
#
# The server runs on a fresh SQLite file with one tenant, a few users and an
# ADMIN key per document (a run may revoke keys through the admin API's
# stateful links, so no document shares the key another one uses). Routes
# that change the logged-in user get an ADMIN user's access token.
# Checks that are wrong for a particular route are switched off for that
# route only, in .ci/schemathesis.toml, each with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${1:-target/debug/userhub}"
st="$(command -v st || true)"
if [ -z "$st" ]; then st=target/ci-venv/bin/st; fi
# Bounded: each operation gets at most this many generated cases per phase.
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-40}"
seed="${SCHEMATHESIS_SEED:-20261201}"
# More `st run` flags for a local investigation, e.g. --continue-on-failure.
# (Unquoted where used: several flags split on spaces.)

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Hypothesis keeps its example database in the working directory unless
# told otherwise: keep it with the run's other files.
export HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis"
export DATABASE_URL="sqlite://$work/userhub.db"
"$binary" migrate >/dev/null
"$binary" tenant create st-ci >/dev/null
declare -A keys
for document in iklim nevis cl2c blocks scim admin setup; do
    keys[$document]="$("$binary" api-key create --tenant st-ci --role ADMIN | tail -n1)"
done

port="${USERHUB_SCHEMATHESIS_PORT:-18082}"
base="http://127.0.0.1:$port"
# Tokens last the whole run; logins the fuzzer gets wrong are throttled per
# username, never the standing admin's (its password is not guessable).
USERHUB_BIND="127.0.0.1:$port" USERHUB_ACCESS_TOKEN_TTL=3600 RUST_LOG=warn \
    "$binary" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -sf "$base/readyz" >/dev/null; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
    sleep 0.1
done

# A standing ADMIN user (whose token the user routes take, and who keeps the
# tenant's last-admin rule out of the fuzzer's way) and a few others.
create_user() {
    curl -sf -o /dev/null -X POST "$base/v1/users/create" \
        -H "Authorization: Bearer ${keys[setup]}" -H 'Content-Type: application/json' \
        --data "{\"username\": \"$1\", \"password\": \"St-ci-only!$2-Passw0rd\",
                 \"firstName\": \"$2\", \"lastName\": \"User\", \"locale\": \"en_US\",
                 \"timezone\": \"UTC\", \"roles\": \"['$3']\", \"status\": \"['ACTIVE']\"}"
}
create_user standing-admin@ci.test Admin ADMIN
create_user ada@ci.test Ada STANDARD_USER
create_user grace@ci.test Grace POWER_USER
create_user linus@ci.test Linus API_USER
token="$(curl -sf -X POST "$base/v1/auth/login" -H 'Content-Type: application/json' \
    --data '{"username": "standing-admin@ci.test", "password": "St-ci-only!Admin-Passw0rd"}' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')"

# The credentials each document's routes take (see each document's
# securitySchemes).
declare -A auth
auth[iklim]="Authorization: Bearer $token"
auth[nevis]="Authorization: Bearer ${keys[nevis]}"
auth[blocks]="x-blocks-key: ${keys[blocks]}"
auth[scim]="Authorization: Bearer ${keys[scim]}"
auth[admin]="Authorization: Bearer ${keys[admin]}"

summary="$work/summary"
: >"$summary"
failed=0
for document in iklim nevis cl2c blocks scim admin; do
    echo "== schemathesis: /openapi/$document.json"
    headers=()
    if [ "$document" = cl2c ]; then
        # Create, list and get take the tenant and key headers, PUT the
        # logged-in user's token: send both, each route reads its own.
        headers=(-H "tenant: st-ci" -H "X-API-Key: ${keys[cl2c]}" -H "Authorization: Bearer $token")
    else
        headers=(-H "${auth[$document]}")
    fi
    status=0
    # One worker: with two, Python 3.11.7's ast.parse (used by hypothesis
    # to describe its strategies) races across threads and fails with
    # "AST constructor recursion depth mismatch" (seen here, in the admin
    # document's coverage phase).
    "$st" --config-file .ci/schemathesis.toml --no-color run "$base/openapi/$document.json" \
        "${headers[@]}" \
        --seed "$seed" \
        --max-examples "$max_examples" \
        --workers 1 \
        ${SCHEMATHESIS_EXTRA:-} \
        --report junit --report-junit-path "$work/$document.xml" \
        >"$work/$document.out" 2>&1 || status=$?
    cat "$work/$document.out"
    # Operations and cases from schemathesis's summary; failures are its
    # unique failures plus the operations the JUnit report marks as errors.
    python3 - "$document" "$work/$document.xml" "$work/$document.out" "$status" >>"$summary" <<'PY'
import re, sys, xml.etree.ElementTree as ET
document, junit, out, status = sys.argv[1:]
text = open(out).read()
def number(pattern):
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0
operations = number(r"Selected: (\d+)/")
cases = number(r"(\d+) generated")
errors = sum(1 for c in ET.parse(junit).getroot().iter("testcase") if c.find("error") is not None)
failures = number(r"found (\d+) unique failure") + errors
print(f"{document:7} operations {operations:3}  cases {cases:6}  failures {failures}  (st exit {status})")
PY
    if [ "$status" -ne 0 ]; then failed=1; fi
done

echo "== schemathesis summary (seed $seed, at most $max_examples examples per operation and phase)"
cat "$summary"
exit "$failed"
