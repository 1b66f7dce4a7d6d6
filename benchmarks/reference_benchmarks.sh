#!/usr/bin/env bash
# Every benchmark docs/benchmarks.md reports on a reference data set, in one go.
#
#   bash benchmarks/reference_benchmarks.sh chgnet     # about 3 h on 2 idle cores (Fig. 3 is most of it)
#   bash benchmarks/reference_benchmarks.sh bvse
#
# Writes benchmarks/results/<data>-{fig2*,stopping*,peers,gp-*,hp-*,fig3*}, the E_b
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
# Peers on the same pool and seeds (their pool order is shuffled per trial seed, like tavbo's);
# on CHGNet within 10 meV (its best four are near-ties), on BVSE the exact optimum
peers_tol=0
[ "$data" = chgnet ] && peers_tol=0.01
tavbo benchmark --data "$data" --only optimum --peers --strategies random,obo,abo,abo+gp \
    --trials 50 --optimum-tol "$peers_tol" --out "$out/$data-peers"
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
      --strategies random,obo,abo,obo+hp,abo+hp,obo+gp,abo+gp,obo+multitask \
      --out "$out/chgnet-ladder"
  tavbo benchmark --data chgnet --only optimum --optimum-tol 0.01 --source-data bvse \
      --source-carrier Na --strategies random,obo,abo,obo+hp,abo+hp,obo+gp,abo+gp,obo+multitask \
      --out "$out/chgnet-ladder-tol10meV"
  tavbo agreement bvse chgnet --out "$out/agreement-bvse-chgnet"
fi
python benchmarks/reference_maps.py --out "$out/maps"
# Fig. 3 with Li transfer, and the GP on log E_b (Fig. 2 and Fig. 3), 100 / 50 trials
tavbo benchmark --data "$data" --only threshold --threshold-trials 100 \
    --threshold-strategies random,abo,obo+gp,abo+gp,obo+multitask --out "$out/$data-fig3-transfer"
tavbo benchmark --data "$data" --only threshold --threshold-trials 100 --target-transform log \
    --threshold-strategies obo,abo --out "$out/$data-fig3-log"
tavbo benchmark --data "$data" --only threshold --threshold-trials 100 --target-transform log \
    --threshold-strategies obo+gp,abo+gp --out "$out/$data-fig3-log-transfer"
tavbo benchmark --data "$data" --only threshold --threshold-trials 100 --target-transform log \
    --threshold-strategies obo+multitask --out "$out/$data-fig3-log-multitask"
tavbo benchmark --data "$data" --only threshold --threshold-trials 20 --target-transform log \
    --threshold-strategies abo+multitask --out "$out/$data-fig3-log-multitask-abo"
tavbo benchmark --data "$data" --only threshold --threshold-trials 100 --target-transform log \
    --threshold-strategies abo+gp --hyperprior lognormal --out "$out/$data-fig3-log-transfer-lognormal"
for tol in 0 0.01; do
  suffix=$([ "$tol" = 0 ] && echo "" || echo "-tol10meV")
  tavbo benchmark --data "$data" --only optimum --optimum-tol "$tol" --target-transform log \
      --strategies obo,abo,obo+gp,abo+gp --out "$out/$data-fig2-log$suffix"
done
# Fig. 3 analogue last (the longest step): random, oBO, aBO, threshold acquisition, 1000 trials
tavbo benchmark --data "$data" --only threshold --out "$out/$data-fig3"
# The benchmark panel (every problem, random, peers, tavbo's strategies; 50 paired trials of 50
# evaluations; resumable: a finished problem is read back). Independent of "$data".
if [ "$data" = chgnet ]; then
  tavbo benchmark --panel --out "$out/panel"
fi
