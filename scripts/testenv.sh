#!/usr/bin/env bash
# Throwaway PostgreSQL 15 + Redis + an S3 server (moto) for the test suite, on loopback,
# on free ports.
#
#   scripts/testenv.sh start DIR   start them, write DIR/env (export lines), record pids
#   scripts/testenv.sh stop DIR    stop them and remove DIR (safe after a half-failed start)
#
# As root, PostgreSQL runs as the unprivileged `postgres` OS user (initdb refuses root).
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_OS_USER="${PG_OS_USER:-postgres}"
START_TIMEOUT="${TESTENV_START_TIMEOUT:-60}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# moto's S3 server, from the project's venv (pip install -e '.[test]' brings moto[server]).
MOTO_SERVER="${MOTO_SERVER:-$REPO_ROOT/.venv/bin/moto_server}"

die() { echo "testenv: $*" >&2; exit 1; }
log() { echo "testenv: $*" >&2; }

usage() { die "usage: $0 start|stop DIR"; }

free_port() {
    "${PYTHON:-python3}" - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Run a command as the PostgreSQL OS user (or as ourselves when not root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$PG_OS_USER" -- "$@"
        else
            su "$PG_OS_USER" -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

# Append KEY=VALUE to the state file (read back by `stop`).
record() { printf '%s=%q\n' "$1" "$2" >>"$STATE"; }

tail_log() {
    local f="$1"
    if [ -f "$f" ]; then
        echo "----- last lines of $f -----" >&2
        tail -n 40 "$f" >&2 || true
        echo "-----" >&2
    fi
}

# Alive = exists and is not a zombie (an unreaped zombie still answers kill -0).
pid_alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    local st
    st="$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)"
    [ "$st" != "Z" ]
}

wait_pid_gone() {  # pid, seconds
    local pid="$1" n=$(( $2 * 10 ))
    while pid_alive "$pid" && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    ! pid_alive "$pid"
}

# ---------------------------------------------------------------------------
stop_services() {
    local PG_DATA="" PG_SOCK="" PG_PORT="" PG_SOCK_EXTERNAL="" PG_ROOT_EXTERNAL="" REDIS_PORT="" REDIS_PIDFILE=""
    local S3_PID=""
    # shellcheck disable=SC1090
    [ -f "$STATE" ] && . "$STATE"

    # --- PostgreSQL
    if [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
        local pgpid
        pgpid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
        if pid_alive "$pgpid"; then
            kill -TERM "$pgpid" 2>/dev/null || true
            wait_pid_gone "$pgpid" 10 || kill -KILL "$pgpid" 2>/dev/null || true
        fi
    fi

    # --- Redis
    if [ -n "$REDIS_PIDFILE" ]; then
        local rpid=""
        [ -f "$REDIS_PIDFILE" ] && rpid="$(cat "$REDIS_PIDFILE" 2>/dev/null || true)"
        if [ -n "$REDIS_PORT" ]; then
            timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        fi
        if pid_alive "$rpid"; then
            wait_pid_gone "$rpid" 5 || kill -TERM "$rpid" 2>/dev/null || true
            wait_pid_gone "$rpid" 5 || kill -KILL "$rpid" 2>/dev/null || true
        fi
    fi

    # --- S3 (moto_server, started by us in its own session)
    if pid_alive "$S3_PID"; then
        kill -TERM "$S3_PID" 2>/dev/null || true
        wait_pid_gone "$S3_PID" 5 || kill -KILL "$S3_PID" 2>/dev/null || true
    fi

    if [ -n "$PG_SOCK_EXTERNAL" ] && [ -n "$PG_SOCK" ]; then
        rm -rf -- "$PG_SOCK"
    fi
    if [ -n "$PG_ROOT_EXTERNAL" ]; then
        rm -rf -- "$PG_ROOT_EXTERNAL"
    fi
}

# ---------------------------------------------------------------------------
start_pg() {
    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL binaries not found in $PG_BIN (apt-get install postgresql-15)"

    local root="$DIR/pg"
    mkdir -p "$root"
    if [ "$(id -u)" -eq 0 ]; then
        id "$PG_OS_USER" >/dev/null 2>&1 || die "OS user '$PG_OS_USER' does not exist (needed to run PostgreSQL as root)"
        chown "$PG_OS_USER" "$root"
        chmod 700 "$root"
        if ! as_pg test -w "$root"; then
            # A parent of DIR is private (e.g. mktemp -d under a 0700 dir): keep the cluster
            # in its own directory under /tmp instead; `stop` removes it.
            rmdir "$root"
            root="$(mktemp -d /tmp/guildhall-pg.XXXXXX)"
            record PG_ROOT_EXTERNAL "$root"
            chown "$PG_OS_USER" "$root"
            as_pg test -w "$root" || die "user '$PG_OS_USER' cannot write $root"
            log "user '$PG_OS_USER' cannot reach $DIR; PostgreSQL files are in $root"
        fi
    fi

    local data="$root/data"
    # Unix socket paths are limited to ~107 bytes; use a short dir under /tmp if DIR is deep.
    local sock="$root/sock"
    if [ "${#sock}" -gt 80 ]; then
        sock="$(mktemp -d /tmp/ghpg.XXXXXX)"
        record PG_SOCK "$sock"
        record PG_SOCK_EXTERNAL 1
    else
        mkdir -p "$sock"
    fi
    [ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$sock"
    record PG_SOCK "$sock"
    record PG_DATA "$data"
    PG_LOG="$root/postgres.log"

    local pwfile="$root/pwfile"
    echo "postgres" >"$pwfile"
    [ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$pwfile"

    if ! as_pg "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
            -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 \
            --no-sync >"$root/initdb.log" 2>&1; then
        tail_log "$root/initdb.log"
        die "initdb failed"
    fi
    rm -f "$pwfile"

    cat >"$data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  scram-sha-256
EOF

    local attempt port
    for attempt in 1 2 3; do
        port="$(free_port)"
        cat >"$data/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
logging_collector = off
EOF
        [ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$data/postgresql.auto.conf" "$data/pg_hba.conf"
        record PG_PORT "$port"
        rm -f "$PG_LOG"
        if as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$PG_LOG" -w -t "$START_TIMEOUT" start >/dev/null 2>&1; then
            break
        fi
        if grep -qiE 'could not (bind|create listen)|address already in use' "$PG_LOG" 2>/dev/null \
                && [ "$attempt" -lt 3 ]; then
            log "port $port was taken, retrying"
            continue
        fi
        tail_log "$PG_LOG"
        return 1
    done

    # pg_ctl -w returned: now confirm TCP answers.
    local n=$(( START_TIMEOUT * 10 ))
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; do
        n=$((n - 1))
        if [ "$n" -le 0 ]; then tail_log "$PG_LOG"; log "PostgreSQL did not answer on 127.0.0.1:$port"; return 1; fi
        sleep 0.1
    done

    if ! as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres \
            >"$root/setup.log" 2>&1 <<'EOF'
CREATE ROLE guildhall_owner LOGIN PASSWORD 'owner' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE guildhall_app   LOGIN PASSWORD 'app'   NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE DATABASE guildhall_test OWNER guildhall_owner;
GRANT CONNECT ON DATABASE guildhall_test TO guildhall_app;
\connect guildhall_test
ALTER SCHEMA public OWNER TO guildhall_owner;
GRANT USAGE ON SCHEMA public TO guildhall_app;
EOF
    then
        tail_log "$root/setup.log"
        log "creating roles/database failed"
        return 1
    fi
    PG_PORT="$port"
}

start_redis() {
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (apt-get install redis-server)"
    command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (apt-get install redis-tools)"
    local root="$DIR/redis"
    mkdir -p "$root"
    local pidfile="$root/redis.pid"
    REDIS_LOG="$root/redis.log"
    record REDIS_PIDFILE "$pidfile"

    local attempt port
    for attempt in 1 2 3; do
        port="$(free_port)"
        record REDIS_PORT "$port"
        rm -f "$pidfile"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --pidfile "$pidfile" --logfile "$REDIS_LOG" --dir "$root" \
            >/dev/null 2>&1 || true
        local n=$(( START_TIMEOUT * 10 ))
        while [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != "PONG" ]; do
            n=$((n - 1))
            if grep -qi 'address already in use' "$REDIS_LOG" 2>/dev/null; then break; fi
            if [ "$n" -le 0 ]; then break; fi
            sleep 0.1
        done
        if [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
            REDIS_PORT="$port"
            return 0
        fi
        if grep -qi 'address already in use' "$REDIS_LOG" 2>/dev/null && [ "$attempt" -lt 3 ]; then
            log "port $port was taken, retrying"
            : >"$REDIS_LOG"
            continue
        fi
        break
    done
    tail_log "$REDIS_LOG"
    log "Redis did not answer on 127.0.0.1:$port"
    return 1
}

tcp_open() {  # port: whether something accepts connections on 127.0.0.1:port
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# moto takes a second or two to import: launch it first, wait for it after PostgreSQL and
# Redis are up.
launch_s3() {
    [ -x "$MOTO_SERVER" ] || die "moto_server not found at $MOTO_SERVER (pip install 'moto[server]', or make install)"
    mkdir -p "$DIR/s3"
    S3_LOG="$DIR/s3/moto.log"
    S3_PORT="$(free_port)"
    : >"$S3_LOG"
    # Its own session (setsid): a Ctrl-C in the caller's terminal does not kill it before
    # `stop` does; stdin closed so it never waits on the terminal.
    setsid "$MOTO_SERVER" -H 127.0.0.1 -p "$S3_PORT" </dev/null >"$S3_LOG" 2>&1 &
    S3_PID=$!
    record S3_PID "$S3_PID"
}

wait_s3() {
    local attempt n
    for attempt in 1 2 3; do
        n=$(( START_TIMEOUT * 10 ))
        until tcp_open "$S3_PORT"; do
            n=$((n - 1))
            if ! pid_alive "$S3_PID" || [ "$n" -le 0 ]; then break; fi
            sleep 0.1
        done
        if pid_alive "$S3_PID" && tcp_open "$S3_PORT"; then
            return 0
        fi
        kill -TERM "$S3_PID" 2>/dev/null || true
        wait_pid_gone "$S3_PID" 5 || kill -KILL "$S3_PID" 2>/dev/null || true
        if grep -qi 'address already in use' "$S3_LOG" 2>/dev/null && [ "$attempt" -lt 3 ]; then
            log "port $S3_PORT was taken, retrying"
            launch_s3
            continue
        fi
        break
    done
    tail_log "$S3_LOG"
    log "moto_server did not answer on 127.0.0.1:$S3_PORT"
    return 1
}

cmd_start() {
    if [ -f "$STATE" ]; then
        die "$DIR already holds a test environment; run '$0 stop $DIR' first"
    fi
    mkdir -p "$DIR"
    # The postgres OS user must be able to traverse DIR (mktemp -d makes it 0700).
    chmod 755 "$DIR"
    : >"$STATE"

    # Whatever fails from here on (set -e, die, Ctrl-C): stop what was started, keep the logs.
    START_OK=0
    trap 'on_start_exit' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    launch_s3
    start_pg
    start_redis
    wait_s3

    cat >"$DIR/env.tmp" <<EOF
export GUILDHALL_TEST_PG_OWNER_URL=postgresql://guildhall_owner:owner@127.0.0.1:$PG_PORT/guildhall_test
export GUILDHALL_TEST_PG_APP_URL=postgresql://guildhall_app:app@127.0.0.1:$PG_PORT/guildhall_test
export GUILDHALL_TEST_PG_SUPER_URL=postgresql://postgres:postgres@127.0.0.1:$PG_PORT/postgres
export GUILDHALL_TEST_PG_PORT=$PG_PORT
export GUILDHALL_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export GUILDHALL_TEST_REDIS_PORT=$REDIS_PORT
export GUILDHALL_TEST_S3_URL=http://127.0.0.1:$S3_PORT
EOF
    mv "$DIR/env.tmp" "$DIR/env"
    START_OK=1
    log "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT, S3 on 127.0.0.1:$S3_PORT (env: $DIR/env)"
}

on_start_exit() {
    local rc=$?
    set +e
    if [ "${START_OK:-0}" != 1 ]; then
        log "start failed; stopping whatever was started (logs kept in $DIR; '$0 stop $DIR' removes it)"
        stop_services
        [ "$rc" -eq 0 ] && rc=1
    fi
    exit "$rc"
}

cmd_stop() {
    if [ ! -d "$DIR" ]; then
        return 0
    fi
    stop_services
    rm -rf -- "$DIR"
}

[ $# -eq 2 ] || usage
ACTION="$1"
DIR="$2"
[ -n "$DIR" ] && [ "$DIR" != "/" ] || die "refusing DIR '$DIR'"
DIR="$(realpath -m -- "$DIR")"
STATE="$DIR/state"

case "$ACTION" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    *) usage ;;
esac
