#!/usr/bin/env bash
# npm run load — artillery (built-in Socket.IO engine) against the service, then the oversell check.
#
#   npm run load                          # starts a local service (built dist/, Redis db 14, RabbitMQ if it answers)
#   npm run load -- flash-sale            # some scenarios: browsing flash-sale flash-sale-queue ack-latency orders
#   LOAD_TARGET=http://host:8880 LOAD_JWT_SECRET=… npm run load     # an already running service
#   LOAD_QUICK=1 npm run load             # short phases (smoke run)
#
# Artillery 2.x declares node >= 22.18; it is run with `npm exec` at a pinned version (not a
# devDependency: ~600 packages CI does not need). LOAD_NODE22=1 runs it under Node 22 from the npm
# registry (the `node` package) instead of this machine's Node.
set -euo pipefail
cd "$(dirname "$0")/.."

ARTILLERY_VERSION="${ARTILLERY_VERSION:-2.0.34}"
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(browsing flash-sale flash-sale-queue ack-latency orders)
STAMP="$(date +%Y%m%dT%H%M%S)"
OUT="load/results/$STAMP"
mkdir -p "$OUT"

if [ "${LOAD_QUICK:-0}" = "1" ]; then
  export LOAD_BROWSE_SECONDS="${LOAD_BROWSE_SECONDS:-10}" LOAD_FLASH_SECONDS="${LOAD_FLASH_SECONDS:-5}"
  export LOAD_ACK_SECONDS="${LOAD_ACK_SECONDS:-10}" LOAD_ORDERS_SECONDS="${LOAD_ORDERS_SECONDS:-5}"
  export LOAD_QUEUE_SECONDS="${LOAD_QUEUE_SECONDS:-5}"
else
  export LOAD_BROWSE_SECONDS="${LOAD_BROWSE_SECONDS:-30}" LOAD_FLASH_SECONDS="${LOAD_FLASH_SECONDS:-10}"
  export LOAD_ACK_SECONDS="${LOAD_ACK_SECONDS:-30}" LOAD_ORDERS_SECONDS="${LOAD_ORDERS_SECONDS:-20}"
  export LOAD_QUEUE_SECONDS="${LOAD_QUEUE_SECONDS:-20}"
fi
# The waiting room scenario's event and its pace (as in load/catalog.json).
export LOAD_QUEUE_EVENT_ID="${LOAD_QUEUE_EVENT_ID:-queue-sale}" LOAD_QUEUE_ADMIT_PER_MINUTE="${LOAD_QUEUE_ADMIT_PER_MINUTE:-600}"
export LOAD_EVENT_ID="${LOAD_EVENT_ID:-flash-sale}"
export LOAD_JWT_SECRET="${LOAD_JWT_SECRET:-load-test-secret-$STAMP-0123456789}"

SERVICE_PID=""
PREFIX=""
cleanup() {
  if [ -n "$SERVICE_PID" ]; then
    kill "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
  fi
  if [ -n "$PREFIX" ]; then
    node --input-type=module -e '
      import { Redis } from "ioredis";
      const [url, prefix, amqpUrl, realtime] = process.argv.slice(1);
      const redis = new Redis(url);
      let cursor = "0", n = 0;
      do { const [next, keys] = await redis.scan(cursor, "MATCH", `{${prefix}}*`, "COUNT", 1000); cursor = next; if (keys.length) n += await redis.unlink(...keys); } while (cursor !== "0");
      for (const key of await redis.keys(`${prefix}:*`)) n += await redis.unlink(key);
      redis.disconnect();
      if (amqpUrl) {
        const { connect } = await import("amqplib");
        const c = await connect(amqpUrl); const ch = await c.createChannel();
        for (const q of [realtime, `${realtime}.dead-letter`, `${prefix}.events`]) await ch.deleteQueue(q).catch(() => {});
        await ch.deleteExchange(`${prefix}.locks`).catch(() => {});
        await c.close();
      }
      console.log(`load: cleaned up ${n} Redis keys${amqpUrl ? " and the run'"'"'s queues" : ""}`);
    ' "$REDIS_URL_LOAD" "$PREFIX" "${LOAD_RABBITMQ_URL:-}" "${LOAD_REALTIME_QUEUE:-}" || true
  fi
}
trap cleanup EXIT

if [ -z "${LOAD_TARGET:-}" ]; then
  # A local service of our own: built dist/, its own Redis prefix in db 14, RabbitMQ if it answers.
  # Buyers disconnect when their flow ends; with the default 10 s grace their holds would come back
  # during the run and be sold again, and the oversell check (tickets held ≤ capacity) could not be
  # exact. A grace longer than the run keeps every hold until the buyer gives it back itself.
  [ -f dist/apps/realtime/src/main.js ] || npm run build
  PORT="${LOAD_PORT:-$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}"
  PREFIX="load-$STAMP"
  REDIS_URL_LOAD="${LOAD_REDIS_URL:-redis://127.0.0.1:6379/14}"
  AMQP="${LOAD_RABBITMQ_URL-amqp://guest:guest@127.0.0.1:5672}"
  if [ -n "$AMQP" ] && ! timeout 3 bash -c "</dev/tcp/127.0.0.1/5672" 2>/dev/null; then AMQP=""; fi
  export LOAD_RABBITMQ_URL="$AMQP" LOAD_REALTIME_QUEUE="$PREFIX.realtime" LOAD_LOCK_EVENTS_EXCHANGE="$PREFIX.locks"
  env NODE_ENV=production WEBSOCKET_PORT="$PORT" WEBSOCKET_CORS_ORIGIN=http://localhost \
    REDIS_URL="$REDIS_URL_LOAD" REDIS_KEY_PREFIX="$PREFIX" \
    ${AMQP:+RABBITMQ_URL="$AMQP" REALTIME_QUEUE="$LOAD_REALTIME_QUEUE" EVENTS_QUEUE="$PREFIX.events" LOCK_EVENTS_EXCHANGE="$LOAD_LOCK_EVENTS_EXCHANGE"} \
    EVENTS_SOURCE=catalog CATALOG_FILE=load/catalog.json JWT_SECRET="$LOAD_JWT_SECRET" ADMISSION_TOKEN_SECRET="$LOAD_JWT_SECRET-admission" WS_ALLOW_ANONYMOUS=false \
    RATE_LIMIT_PER_MINUTE="${LOAD_RATE_LIMIT_PER_MINUTE:-120}" LOG_LEVEL=warn \
    DISCONNECT_GRACE_SECONDS="${LOAD_DISCONNECT_GRACE_SECONDS:-3600}" \
    node dist/apps/realtime/src/main.js >"$OUT/service.log" 2>&1 &
  SERVICE_PID=$!
  SERVICE_STARTED=$(date +%s)
  export LOAD_TARGET="http://127.0.0.1:$PORT"
  for _ in $(seq 1 120); do
    curl -fsS "$LOAD_TARGET/ready" >/dev/null 2>&1 && break
    kill -0 "$SERVICE_PID" 2>/dev/null || { echo "load: the service did not start:"; cat "$OUT/service.log"; exit 1; }
    sleep 0.5
  done
  curl -fsS "$LOAD_TARGET/ready" >/dev/null || { echo "load: $LOAD_TARGET/ready does not answer 200"; exit 1; }
  echo "load: local service on $LOAD_TARGET (log: $OUT/service.log)${AMQP:+, RabbitMQ on}"
else
  echo "load: target $LOAD_TARGET"
fi

# One HS256 token per virtual user, signed with LOAD_JWT_SECRET (anonymous services ignore them).
node --input-type=module -e '
  import { createHmac } from "node:crypto";
  import { writeFileSync } from "node:fs";
  const [secret, file, stamp] = process.argv.slice(1);
  const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000), lines = ["token"];
  for (let i = 0; i < 20000; i++) {
    const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: `load-${stamp}-${i}`, iat: now, exp: now + 7200 })}`;
    lines.push(`${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`);
  }
  writeFileSync(file, lines.join("\n") + "\n");
' "$LOAD_JWT_SECRET" load/.tokens.csv "$STAMP"

artillery() {
  if [ "${LOAD_NODE22:-0}" = "1" ]; then
    # The node package's bin comes first on npm exec's PATH, so artillery's `#!/usr/bin/env node` runs on Node 22.
    npm exec --yes --package=node@22 --package="artillery@$ARTILLERY_VERSION" -- artillery "$@"
  else
    npm exec --yes --package="artillery@$ARTILLERY_VERSION" -- artillery "$@"
  fi
}

status=0
for scenario in "${SCENARIOS[@]}"; do
  if [ "$scenario" = "orders" ] && [ -z "${LOAD_RABBITMQ_URL:-}" ]; then
    echo "load: orders skipped (no RabbitMQ: set LOAD_RABBITMQ_URL, LOAD_REALTIME_QUEUE, LOAD_LOCK_EVENTS_EXCHANGE)"
    continue
  fi
  echo
  echo "=== $scenario ==="
  SCENARIO_STARTED=$(date +%s)
  ARTILLERY_DISABLE_TELEMETRY=true artillery run --config load/common.yml --output "$OUT/$scenario.json" "load/$scenario.yml" \
    | tee "$OUT/$scenario.txt" || status=1
  # Refused or unanswered requests are never throughput: printed apart, and they fail the run.
  [ -f "$OUT/$scenario.json" ] && { node load/check-refusals.mjs "$scenario" "$OUT/$scenario.json" || status=1; }
  if [ "$scenario" = "flash-sale" ]; then
    echo
    node load/check-oversell.mjs "$LOAD_TARGET" "$LOAD_EVENT_ID" "${LOAD_FLASH_CATEGORY:-drop}" "$OUT/flash-sale.json" || status=1
  fi
  if [ "$scenario" = "flash-sale-queue" ]; then
    echo
    # The room opened when the service started: the pace bound counts from then (an upper bound).
    RUN_SECONDS=$(( $(date +%s) - ${SERVICE_STARTED:-$SCENARIO_STARTED} + 1 ))
    node load/check-oversell.mjs "$LOAD_TARGET" "$LOAD_QUEUE_EVENT_ID" drop "$OUT/flash-sale-queue.json" || status=1
    node load/check-waiting-room.mjs "$LOAD_TARGET" "$LOAD_QUEUE_EVENT_ID" "$LOAD_QUEUE_ADMIT_PER_MINUTE" "$RUN_SECONDS" "$OUT/flash-sale-queue.json" || status=1
  fi
done
echo
echo "load: reports in $OUT/ (<scenario>.json: artillery report --output; <scenario>.txt: the summary above)"
exit $status
