#!/usr/bin/env bash
# Save what a reference-v2 screen has finished into the repository, so it survives the machine.
#
#   bash benchmarks/reference_v2_progress.sh chgnet|sevennet SCREEN_DIR
#
# SCREEN_DIR is the OUT_DIR of benchmarks/reference_v2_screens.sh. Its finished records are
# exported and merged into benchmarks/results/reference_v2/progress/<engine>.json.gz (records
# already there are kept; a composition found in both takes the screen's record). Commit that
# file as the screens advance: a session's machine, and the screen's store with it, does not
# outlive the session. The next screen leaves out every composition the progress file or the
# packaged data already holds (benchmarks/reference_v2_todo.py), and benchmarks/reference_v2.py
# --previous ... --recomputed <progress file> merges them into the packaged data.
set -euo pipefail
ENGINE=${1:?usage: reference_v2_progress.sh chgnet|sevennet SCREEN_DIR}
DIR=$(realpath "${2:?usage: reference_v2_progress.sh chgnet|sevennet SCREEN_DIR}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
PROGRESS="$REPO/benchmarks/results/reference_v2/progress/$ENGINE.json.gz"
mkdir -p "$(dirname "$PROGRESS")"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
MERGE=()
[ -f "$PROGRESS" ] && MERGE=(--merge "$PROGRESS")
(cd "$DIR" && TAVBO_EMBEDDED_STORE="$DIR/launchpad.sqlite" TAVBO_RUN_DIR="$DIR/runs" \
    tavbo export "$TMP/progress.json.gz" -c "reference-$ENGINE-v2" "${MERGE[@]}")
mv "$TMP/progress.json.gz" "$PROGRESS"
python3 -c "import gzip, json, sys; print(len(json.load(gzip.open(sys.argv[1]))), 'records in', sys.argv[1])" "$PROGRESS"
