#!/usr/bin/env bash
# Every benchmark docs/benchmarks.md reports on a reference data set, in one go.
#
#   bash benchmarks/reference_benchmarks.sh chgnet     # 1.5-2 h on 2 idle cores (Fig. 3 and the ladder are most of it)
#   bash benchmarks/reference_benchmarks.sh bvse
#
# Writes benchmarks/results/<data>-{fig2,fig2-tol10meV,stopping*,peers,gp-*,hp-*,fig3}, the E_b
# maps and, for chgnet, the fidelity ladder and the BVSE-CHGNet agreement. Each step prints its
# summary table; the figures and summary.md files are what docs/benchmarks.md quotes. Needs the
# peers extra (pip install -e ".[peers]").
set -euo pipefail
data="${1:?usage: reference_benchmarks.sh chgnet|bvse}"
out="benchmarks/results"
cd "$(dirname "$0")/.."

# Fig. 2 analogue: every tavbo strategy, 50 trials
tavbo benchmark --data "$data" --only optimum --out "$out/$data-fig2"
# Fig. 2 with near-ties: every composition within 10 meV of the lowest E_b counts as the optimum
tavbo benchmark --data "$data" --only optimum --optimum-tol 0.01 --out "$out/$data-fig2-tol10meV"
# The threshold goal's stopping rule (patience 15, the default, and the GP posterior alone)
tavbo benchmark --data "$data" --only stopping --trials 30 --out "$out/$data-stopping"
tavbo benchmark --data "$data" --only stopping --trials 30 --stop-patience 0 \
    --out "$out/$data-stopping-p0"
# Peers on the same pool and seeds (their pool order is shuffled per trial seed, like tavbo's)
tavbo benchmark --data "$data" --only optimum --peers --strategies random,obo,abo,abo+gp \
    --trials 50 --optimum-tol 0.01 --out "$out/$data-peers"
# GP ablations against the defaults (shared length scales, aBO groups by kind, no hyperprior)
for ls in shared ard; do
  for g in kind site; do
    tavbo benchmark --data "$data" --only optimum --optimum-tol 0.01 --trials 100 \
        --length-scales "$ls" --groups "$g" --out "$out/$data-gp-$ls-$g"
  done
done
for hp in gamma lognormal; do
  tavbo benchmark --data "$data" --only optimum --optimum-tol 0.01 --trials 100 \
      --strategies random,obo,abo,abo+gp,obo+gp --hyperprior "$hp" --out "$out/$data-hp-$hp"
done
if [ "$data" = chgnet ]; then
  # The fidelity ladder: BVSE E_b of the same Na compositions as the transfer source
  tavbo benchmark --data chgnet --only optimum --source-data bvse --source-carrier Na \
      --strategies random,obo,abo,abo+hp,abo+gp,abo+multitask,obo+multitask \
      --out "$out/chgnet-ladder"
  tavbo agreement bvse chgnet --out "$out/agreement-bvse-chgnet"
fi
python benchmarks/reference_maps.py --out "$out/maps"
# Fig. 3 analogue last (the longest step): random, oBO, aBO, threshold acquisition, 1000 trials
tavbo benchmark --data "$data" --only threshold --out "$out/$data-fig3"
