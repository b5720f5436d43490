#!/usr/bin/env bash
# Fleetmeter's local development set-up.
#
#   deploy/dev.sh demo        build, start ClickHouse, the gateway, a simulated printer fleet
#                             with a collector reading it, and a synthetic feed
#   deploy/dev.sh test        build and run every test against a private ClickHouse
#   deploy/dev.sh clickhouse  start (or reuse) the private ClickHouse server only
#   deploy/dev.sh stop        stop what demo and clickhouse started
#
# Everything lives under .dev/ in the checkout: ClickHouse's data and configuration, the Python
# virtual environment, logs. Cargo builds into $CARGO_TARGET_DIR, by default
# $HOME/.cache/fleetmeter/target, so that later runs on the same machine build incrementally.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="$ROOT/.dev"
CH_DIR="$DEV/clickhouse"
CH_HTTP_PORT="${FLEET_DEV_CLICKHOUSE_HTTP_PORT:-18123}"
CH_TCP_PORT="${FLEET_DEV_CLICKHOUSE_TCP_PORT:-19000}"
CH_URL="http://127.0.0.1:$CH_HTTP_PORT"
GATEWAY_LISTEN="${FLEET_DEV_GATEWAY_LISTEN:-127.0.0.1:8090}"
QUERY_LISTEN="${FLEET_DEV_QUERY_LISTEN:-127.0.0.1:8080}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fleetmeter/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Prints the body of an HTTP GET, or fails. Uses curl where present, Python otherwise.
http_get() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time 2 "$1"
    else
        python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "$1"
    fi
}

clickhouse_answers() { [ "$(http_get "$CH_URL/ping" 2>/dev/null)" = "Ok." ]; }

install_clickhouse() {
    command -v clickhouse-server >/dev/null 2>&1 && return 0
    if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        say "installing clickhouse-server from Debian's packages"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
    else
        die "no ClickHouse server found: install clickhouse-server (Debian/Ubuntu: apt-get install clickhouse-server), or point FLEET_DEV_CLICKHOUSE_HTTP_PORT at a running server"
    fi
}

start_clickhouse() {
    if clickhouse_answers; then
        say "reusing the ClickHouse server at $CH_URL"
        return 0
    fi
    install_clickhouse
    mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas,log}
    sed -e "s|@ROOT@|$CH_DIR|g" -e "s|@HTTP_PORT@|$CH_HTTP_PORT|g" -e "s|@TCP_PORT@|$CH_TCP_PORT|g" \
        "$ROOT/deploy/clickhouse/config.xml.in" >"$CH_DIR/config.xml"
    cp "$ROOT/deploy/clickhouse/users.xml" "$CH_DIR/users.xml"
    say "starting ClickHouse on $CH_URL (data in $CH_DIR)"
    (cd "$CH_DIR" && setsid nohup clickhouse-server --config-file="$CH_DIR/config.xml" \
        >"$CH_DIR/log/stdout.log" 2>&1 & echo $! >"$CH_DIR/server.pid")
    for _ in $(seq 1 120); do
        clickhouse_answers && { say "ClickHouse is up"; return 0; }
        if ! kill -0 "$(cat "$CH_DIR/server.pid")" 2>/dev/null; then
            tail -20 "$CH_DIR/log/clickhouse-server.err.log" "$CH_DIR/log/stdout.log" >&2 || true
            die "ClickHouse exited during start-up (logs above, in $CH_DIR/log)"
        fi
        sleep 0.5
    done
    die "ClickHouse did not answer on $CH_URL within 60 s (logs in $CH_DIR/log)"
}

# net-snmp's agent and tools (snmpd, snmpwalk, snmpbulkwalk) and tinyproxy, an HTTP proxy for
# the collector's proxy test, from Debian's packages.
install_test_tools() {
    if [ -x /usr/sbin/snmpd ] && command -v snmpbulkwalk >/dev/null 2>&1 \
        && command -v tinyproxy >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then
        return 0
    fi
    if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        say "installing snmp, snmpd, tinyproxy and poppler-utils from Debian's packages"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq snmp snmpd tinyproxy \
            poppler-utils >/dev/null
    else
        say "snmpd, snmpwalk, tinyproxy or pdftotext not found: the tests that need them will fail"
    fi
}

# A Python virtual environment under .dev with the test tools from PyPI.
python_env() {
    local venv="$DEV/venv"
    if [ ! -x "$venv/bin/python" ]; then
        say "creating the Python environment in $venv"
        if ! python3 -m venv "$venv" 2>/dev/null; then
            # Debian's python3 keeps venv in a package of its own.
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
                say "installing python3-venv from Debian's packages"
                apt-get update -qq
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
                rm -rf "$venv"
                python3 -m venv "$venv"
            else
                die "python3 -m venv failed: install python3-venv (Debian: apt-get install python3-venv)"
            fi
        fi
    fi
    if ! "$venv/bin/python" -c 'import chdb, pytest, snmpsim, pysmi, cryptography, openpyxl, schemathesis' \
        2>/dev/null; then
        say "installing chdb-core, pytest, snmpsim, schemathesis and openpyxl from PyPI"
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$ROOT/tests/requirements.txt"
    fi
    export FLEET_PYTHON="$venv/bin/python"
    export FLEET_SNMPSIM="$venv/bin/snmpsim-command-responder"
}

stop_pidfile() {
    local file="$1"
    [ -f "$file" ] || return 0
    local pid; pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$file"
}

cmd_test() {
    start_clickhouse
    install_test_tools
    python_env
    export FLEET_TEST_CLICKHOUSE_URL="$CH_URL"
    cd "$ROOT"

    say "checking formatting and lints"
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

    say "building the tests"
    cargo build --workspace --all-targets --locked
    export FLEET_INGEST_BIN="$CARGO_TARGET_DIR/debug/fleet-ingest"
    export FLEET_QUERY_BIN="$CARGO_TARGET_DIR/debug/fleet-query"

    say "running the Rust tests"
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --workspace --locked --no-fail-fast
    else
        cargo test --workspace --locked --no-fail-fast
    fi

    say "running the Python tests"
    "$FLEET_PYTHON" -m pytest -q "$ROOT/tests"
}

cmd_demo() {
    start_clickhouse
    cd "$ROOT"
    say "building the release binaries"
    cargo build --release --locked -p fleet-ingest -p fleet-benches -p fleet-collector -p fleet-query
    local bin="$CARGO_TARGET_DIR/release"
    export FLEET_CLICKHOUSE_URL="$CH_URL" FLEET_DATABASE="${FLEET_DATABASE:-fleet_demo}"

    "$bin/fleet-ingest" migrate
    "$bin/fleet-ingest" tenant create --name demo-dealer 2>/dev/null || true
    "$bin/fleet-ingest" tenant create --name demo-customer --parent demo-dealer 2>/dev/null || true
    local token
    token="$("$bin/fleet-ingest" token create --tenant demo-customer --collector demo-site)"

    stop_pidfile "$DEV/gateway.pid"
    mkdir -p "$DEV/log"
    say "starting the gateway on http://$GATEWAY_LISTEN (log in .dev/log/gateway.log)"
    "$bin/fleet-ingest" serve --listen "$GATEWAY_LISTEN" >"$DEV/log/gateway.log" 2>&1 &
    echo $! >"$DEV/gateway.pid"
    trap 'stop_pidfile "$DEV/gateway.pid"' EXIT
    trap 'exit 130' INT TERM HUP
    for _ in $(seq 1 100); do
        http_get "http://$GATEWAY_LISTEN/readyz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    http_get "http://$GATEWAY_LISTEN/readyz" >/dev/null || die "the gateway did not become ready (see .dev/log/gateway.log)"

    # A simulated fleet of 40 printers on loopback (127.20.0.1-40), living a day every 24
    # minutes, with occasional faults and sleep; a collector reads it and sends to the gateway.
    stop_pidfile "$DEV/sim.pid"
    stop_pidfile "$DEV/collector.pid"
    say "starting fleet-sim (control API on http://127.0.0.1:18180, log in .dev/log/sim.log)"
    "$bin/fleet-sim" --devices 40 --base 127.20.0.1 --port 16100 --control 127.0.0.1:18180 \
        --speed 60 --fault-rate 3 --sleep-after 900 >"$DEV/log/sim.log" 2>&1 &
    echo $! >"$DEV/sim.pid"
    mkdir -p "$DEV/collector"
    cat >"$DEV/collector/collector.toml" <<TOML
data_dir = "data"

[server]
url = "http://$GATEWAY_LISTEN"
token = "$token"
transport = "grpc"

[discovery]
ranges = ["127.20.0.1-127.20.0.64"]
port = 16100

[schedule]
full_interval_hours = 1
status_interval_seconds = 30
time_zone = "Europe/Berlin"

[status_page]
listen = "127.0.0.1:52005"
TOML
    echo "demo-password" | "$bin/fleet-collector" set-password --config "$DEV/collector/collector.toml" 2>/dev/null
    say "starting the collector (status page http://127.0.0.1:52005/, log in .dev/log/collector.log)"
    "$bin/fleet-collector" run --config "$DEV/collector/collector.toml" >"$DEV/log/collector.log" 2>&1 &
    echo $! >"$DEV/collector.pid"
    trap 'stop_pidfile "$DEV/collector.pid"; stop_pidfile "$DEV/sim.pid"; stop_pidfile "$DEV/gateway.pid"' EXIT

    # The query service, with an administrator and a dealer user (created once).
    "$bin/fleet-ingest" tenant create --name demo-customer-2 --parent demo-dealer 2>/dev/null || true
    echo "demo-admin-password" | "$bin/fleet-query" user create --email admin@demo.example \
        --role admin --password-stdin 2>/dev/null || true
    echo "demo-dealer-password" | "$bin/fleet-query" user create --email dealer@demo.example \
        --role dealer --tenant demo-dealer --password-stdin 2>/dev/null || true
    stop_pidfile "$DEV/query.pid"
    say "starting the query service on http://$QUERY_LISTEN (log in .dev/log/query.log)"
    "$bin/fleet-query" serve --listen "$QUERY_LISTEN" >"$DEV/log/query.log" 2>&1 &
    echo $! >"$DEV/query.pid"
    trap 'stop_pidfile "$DEV/query.pid"; stop_pidfile "$DEV/collector.pid"; stop_pidfile "$DEV/sim.pid"; stop_pidfile "$DEV/gateway.pid"' EXIT
    for _ in $(seq 1 100); do
        http_get "http://$QUERY_LISTEN/readyz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    http_get "http://$QUERY_LISTEN/readyz" >/dev/null || die "the query service did not become ready (see .dev/log/query.log)"
    local month; month="$(date -u +%Y-%m)"

    cat <<INFO

Fleetmeter demo is running.
  printers      40 simulated devices at 127.20.0.1-40, UDP port 16100
                try: snmpwalk -v2c -c public 127.20.0.1:16100 1.3.6.1.2.1.43.11
                inject a fault: curl -X POST http://127.0.0.1:18180/devices/3/faults/jam
  collector     status page http://127.0.0.1:52005/  (password: demo-password)
  gateway       http://$GATEWAY_LISTEN  (XML-RPC at /RPC2, protobuf at /v1/batches, gRPC)
  metrics       http://$GATEWAY_LISTEN/metrics
  ClickHouse    $CH_URL  database $FLEET_DATABASE
                try: echo 'SELECT kind, count(), max(value) FROM $FLEET_DATABASE.counters GROUP BY kind' | curl -s '$CH_URL/' --data-binary @-
  query API     http://$QUERY_LISTEN/api/docs  (Swagger UI; OpenAPI at /api/v1/openapi.json)
                log in:  admin@demo.example / demo-admin-password  (everything)
                         dealer@demo.example / demo-dealer-password  (demo-dealer and its customers)
                try: curl -s -c /tmp/fleet-cookie -H 'content-type: application/json' \\
                       -d '{"email":"dealer@demo.example","password":"demo-dealer-password"}' \\
                       http://$QUERY_LISTEN/api/v1/session
                     curl -s -b /tmp/fleet-cookie 'http://$QUERY_LISTEN/api/v1/devices?limit=5'
                     curl -s -b /tmp/fleet-cookie -o meter-reads.xlsx \\
                       'http://$QUERY_LISTEN/api/v1/reports/meter-reads?from=$month&format=xlsx'
  collector token for the demo site (already in use by the feeder below):
                $token

Feeding a synthetic fleet of 200 devices every 30 s; press Ctrl-C to stop.
INFO
    # In the background and waited for, so that a signal to this script ends the feeder too.
    "$bin/fleet-bench" feed --url "http://$GATEWAY_LISTEN" --token "$token" --devices 200 --every-secs 30 &
    local feeder=$!
    trap 'kill '"$feeder"' 2>/dev/null; stop_pidfile "$DEV/query.pid"; stop_pidfile "$DEV/collector.pid"; stop_pidfile "$DEV/sim.pid"; stop_pidfile "$DEV/gateway.pid"' EXIT
    wait "$feeder"
}

cmd_stop() {
    stop_pidfile "$DEV/query.pid"
    stop_pidfile "$DEV/collector.pid"
    stop_pidfile "$DEV/sim.pid"
    stop_pidfile "$DEV/gateway.pid"
    pkill -f "fleet-bench feed --url http://$GATEWAY_LISTEN" 2>/dev/null || true
    stop_pidfile "$CH_DIR/server.pid"
    # The server of this checkout, whatever its pid file says.
    if pkill -f "clickhouse-server --config-file=$CH_DIR/config.xml" 2>/dev/null; then
        for _ in $(seq 1 150); do
            pgrep -f "clickhouse-server --config-file=$CH_DIR/config.xml" >/dev/null || break
            sleep 0.2
        done
    fi
    say "stopped"
}

case "${1:-}" in
    test) cmd_test ;;
    demo) cmd_demo ;;
    clickhouse) start_clickhouse ;;
    stop) cmd_stop ;;
    *) echo "usage: deploy/dev.sh demo|test|clickhouse|stop" >&2; exit 2 ;;
esac
