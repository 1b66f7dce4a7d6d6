#!/usr/bin/env bash
# Start a single-node Slurm (munged, slurmctld, slurmd) on this machine, as root, for the
# `slurm`-marked tests, with Debian's PBS/Torque command wrappers (qsub, qstat, qdel, pbsnodes). Idempotent: a second call returns at once while the node is up.
#
#   .ci/start_slurm.sh            # install if needed, configure, start, wait for an idle node
#   .ci/stop_slurm.sh             # stop the daemons started here (by PID)
#
# Environment:
#   TAVBO_SLURM_STATE  directory for the PID file and logs (default /var/run/tavbo-slurm)
#   TAVBO_SLURM_FORCE  1 = overwrite an /etc/slurm/slurm.conf that tavbo did not write
#   TAVBO_SLURM_WAIT   seconds to wait for the node to become idle (default 60)
#
# Recipe (Slurm 22.05 on Debian 12): docs/hpc.md, "Testing on one machine".
set -euo pipefail

STATE_DIR="${TAVBO_SLURM_STATE:-/var/run/tavbo-slurm}"
PID_FILE="$STATE_DIR/pids"
CONF=/etc/slurm/slurm.conf
MARK="# written by tavbo .ci/start_slurm.sh"
WAIT_SECS="${TAVBO_SLURM_WAIT:-60}"
HOST="$(hostname -s)"
t0=$(date +%s)

log() { echo "start_slurm: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (it installs packages and starts daemons)"
    exit 1
fi

node_state() { sinfo -h -N -n "$HOST" -o '%t' 2>/dev/null | head -n1 || true; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Already up? (our PID file with live daemons and an idle/mixed/allocated node)
if [ -f "$PID_FILE" ] && command -v sinfo >/dev/null 2>&1; then
    # shellcheck disable=SC1090
    . "$PID_FILE"
    if alive "${MUNGED_PID:-}" && alive "${SLURMCTLD_PID:-}" && alive "${SLURMD_PID:-}"; then
        case "$(node_state)" in
        idle* | mix* | alloc*)
            log "already running (node $HOST $(node_state)); PIDs in $PID_FILE"
            exit 0
            ;;
        esac
    fi
fi

# 1. Packages -------------------------------------------------------------------------------
missing=0
for cmd in slurmctld slurmd sinfo sbatch munged; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing=1
done
# Debian's slurm-wlm-torque: PBS/Torque qsub, qstat, qdel and pbsnodes on top of Slurm, for the
# PBS tests (jobs submitted with #PBS directives; sbatch reads them).
for cmd in qsub qstat qdel pbsnodes; do
    command -v "$cmd" >/dev/null 2>&1 || missing=1
done
if [ "$missing" -eq 1 ]; then
    log "installing slurmctld slurmd slurm-client slurm-wlm-torque munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurmctld slurmd slurm-client slurm-wlm-torque munge >/dev/null
fi
PATH="/usr/sbin:/usr/bin:$PATH"

# 2. Configuration ----------------------------------------------------------------------------
if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF" && [ "${TAVBO_SLURM_FORCE:-0}" != 1 ]; then
    log "$CONF exists and was not written by tavbo; set TAVBO_SLURM_FORCE=1 to overwrite it"
    exit 1
fi
CPUS="$(nproc)"
MEM_MB="$(awk '/MemTotal/ {print int($2 / 1024 * 0.95)}' /proc/meminfo)"  # 5 % margin
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$STATE_DIR"
cat >"$CONF" <<EOF
$MARK on $(date -u +%Y-%m-%dT%H:%M:%SZ)
ClusterName=tavbo
SlurmctldHost=$HOST
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
KillWait=5
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

# 3. munge ------------------------------------------------------------------------------------
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 400 /etc/munge/munge.key
chmod 700 /etc/munge
chmod 755 /run/munge

MUNGED_PID=""
if [ -f /run/munge/munged.pid ] && alive "$(cat /run/munge/munged.pid)"; then
    MUNGED_PID="$(cat /run/munge/munged.pid)"
else
    runuser -u munge -- munged --force
    for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    MUNGED_PID="$(cat /run/munge/munged.pid)"
fi
munge -n | unmunge >/dev/null || { log "munge does not work"; exit 1; }

# 4. Slurm daemons ----------------------------------------------------------------------------
start_daemon() { # name pidfile -> echo pid
    local name=$1 pidfile=$2
    if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then
        kill "$(cat "$pidfile")" 2>/dev/null || true   # restart to pick up the new slurm.conf
        for _ in $(seq 50); do alive "$(cat "$pidfile")" || break; sleep 0.1; done
    fi
    "$name" >/dev/null 2>&1
    for _ in $(seq 100); do [ -s "$pidfile" ] && alive "$(cat "$pidfile")" && break; sleep 0.1; done
    cat "$pidfile"
}
SLURMCTLD_PID="$(start_daemon slurmctld "$STATE_DIR/slurmctld.pid")"
SLURMD_PID="$(start_daemon slurmd "$STATE_DIR/slurmd.pid")"

cat >"$PID_FILE" <<EOF
MUNGED_PID=$MUNGED_PID
SLURMCTLD_PID=$SLURMCTLD_PID
SLURMD_PID=$SLURMD_PID
EOF

# 5. Wait for an idle node --------------------------------------------------------------------
resumed=0
for _ in $(seq $((WAIT_SECS * 2))); do
    state="$(node_state)"
    case "$state" in
    idle* | mix* | alloc*)
        log "node $HOST $state after $(($(date +%s) - t0)) s; PIDs in $PID_FILE"
        exit 0
        ;;
    down* | drain* | drng*)
        if [ "$resumed" -eq 0 ]; then
            scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
            resumed=1
        fi
        ;;
    esac
    sleep 0.5
done
log "node $HOST not idle after ${WAIT_SECS} s (state: '$(node_state)'); see $STATE_DIR/*.log"
exit 1
