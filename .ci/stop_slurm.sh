#!/usr/bin/env bash
# Stop the daemons that .ci/start_slurm.sh started, by the PIDs it recorded (never by name).
set -euo pipefail

STATE_DIR="${TAVBO_SLURM_STATE:-/var/run/tavbo-slurm}"
PID_FILE="$STATE_DIR/pids"

if [ ! -f "$PID_FILE" ]; then
    echo "stop_slurm: no $PID_FILE; nothing to stop" >&2
    exit 0
fi
# shellcheck disable=SC1090
. "$PID_FILE"

stop() { # name pid
    local name=$1 pid=${2:-}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { echo "stop_slurm: stopped $name ($pid)" >&2; return 0; }; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "stop_slurm: killed $name ($pid) after 10 s" >&2
}

# Jobs first would need scancel; stopping slurmd ends its job steps' parent anyway.
stop slurmd "${SLURMD_PID:-}"
stop slurmctld "${SLURMCTLD_PID:-}"
stop munged "${MUNGED_PID:-}"
rm -f "$PID_FILE"
