#!/usr/bin/env bash
# Reference data v2 (issue 18): recompute the listed compositions with one potential, resumably.
#
#   bash benchmarks/reference_v2_screens.sh chgnet|sevennet [OUT_DIR] [IDS_FILE]
#
# OUT_DIR (default ./reference-v2-runs/<engine>) holds the screen's embedded store and rocket
# directories: run the same command again to resume (finished compositions are never redone).
# The compositions (default benchmarks/results/reference_v2/ids.txt: the 86 most affected by the
# v1 audit and their Li/Na partners; after three W oxides the 50 that are not W/Mo oxides, Li/Na
# pairs adjacent, then the slow W/Mo oxides) are screened in file order (sevennet: its default model, 7net-mf-0:PBE), one torch
# thread, at nice 10 so the machine stays usable. With the kernel's autogroup scheduling
# (/proc/sys/kernel/sched_autogroup_enabled = 1) nice only ranks processes of one session against
# each other: a screen started with setsid competes as an equal with everything else; lower its
# whole session with `echo 19 > /proc/<pid>/autogroup` (measured: the screens took 40 % of a core
# each against 12-16 % for a nice-5 benchmark until their autogroups were set).
# OUT_DIR does not outlive the machine: save what is finished into the repository as it comes
# (bash benchmarks/reference_v2_progress.sh <engine> OUT_DIR, then commit the progress file), and
# start the next session's screen on `python benchmarks/reference_v2_todo.py <engine>` as IDS_FILE.
# To merge into the packaged data (docs/reference_v2.md says what to rerun afterwards):
#   python benchmarks/reference_v2.py --base chgnet-v1 --previous chgnet \
#       --recomputed benchmarks/results/reference_v2/progress/chgnet.json.gz \
#           benchmarks/results/reference_v2/progress/chgnet-midpoint.json.gz \
#       --out workflows/data/reference_chgnet.json.gz
#   (chgnet-midpoint: the six midpoint-only dips rerun with the midpoint-site repair on
#   2026-12-07; later files win, so it goes last)
#   (sevennet: --engine sevennet --previous sevennet, no --base)
set -euo pipefail
ENGINE=${1:?usage: reference_v2_screens.sh chgnet|sevennet [OUT_DIR] [IDS_FILE]}
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(realpath -m "${2:-reference-v2-runs/$ENGINE}")
IDS=$(realpath "${3:-$REPO/benchmarks/results/reference_v2/ids.txt}")
mkdir -p "$OUT"
cd "$OUT"
export TAVBO_EMBEDDED_STORE="$OUT/launchpad.sqlite" TAVBO_RUN_DIR="$OUT/runs"
export TAVBO_TORCH_THREADS=1 OMP_NUM_THREADS=1
exec nice -n 10 tavbo screen --engine "$ENGINE" --campaign "reference-$ENGINE-v2" \
    --ids "$IDS" --export "$OUT/export.json.gz"
