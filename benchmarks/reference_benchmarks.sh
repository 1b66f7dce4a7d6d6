#!/usr/bin/env bash
# Every benchmark docs/benchmarks.md reports on a reference data set, in one go.
#
#   bash benchmarks/reference_benchmarks.sh chgnet     # about 2.5 h on 2 idle cores (Fig. 3: ~80 min)
#   bash benchmarks/reference_benchmarks.sh bvse
#
# Writes benchmarks/results/<data>-{fig2,fig3,peers,ladder,hp-*}, the E_b maps and, for chgnet, the
# BVSE-CHGNet agreement. Each step prints its summary table; the figures and summary.md files
# are what docs/benchmarks.md quotes. Needs the peers extra (pip install -e ".[peers]").
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
# Peers on the same pool and seeds
tavbo benchmark --data "$data" --only optimum --peers --strategies random,obo,abo,abo+gp \
    --trials 20 --jobs 1 --out "$out/$data-peers"
# GP hyperpriors (the default is decided on the CHGNet set)
for hp in gamma lognormal; do
  tavbo benchmark --data "$data" --only optimum --strategies random,obo,abo,abo+gp,obo+gp \
      --hyperprior "$hp" --out "$out/$data-hp-$hp"
done
# aBO kernel groups by descriptor kind instead of site, with and without the lognormal prior
for hp in none lognormal; do
  tavbo benchmark --data "$data" --only optimum --strategies abo,abo+hp,abo+gp,abo+multitask \
      --groups kind --hyperprior "$hp" --out "$out/$data-kind-$hp"
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
