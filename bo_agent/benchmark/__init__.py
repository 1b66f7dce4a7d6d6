"""Benchmarks of the search strategies on a fully known data set: the report's Fig. 2 and 3.

Each trial is an offline replay (:func:`bo_agent.benchmark.replay.replay`, the live agent's
decisions) of one strategy with one seed on the target-carrier pool (Na by default), answered from
the data set. Trial ``i`` uses seed ``base_seed + i`` for every strategy, so all strategies start
from the same ``n_initial`` random compositions (paired comparison). Transfer strategies see every
source-carrier (Li) result of the data set, as if a Li campaign had finished.

- Fig. 2 analogue ("optimum"): P(optimum found within t evaluations), over ``trials`` trials of
  sequential BO (EI by default), and the median number of evaluations to the optimum.
- Fig. 3 analogue ("threshold"): mean number and fraction (recall) of compositions with
  E_b < tau found within t evaluations, with ``goal="threshold"`` (acquisition ``below``, the
  stopping rule off so every trial runs to the horizon), for tau = 0.3 eV and for the
  data-set-matched tau (between the 17th and 18th lowest target E_b, so exactly 17 lie below).
- Stopping rule ("stopping", on request): the same threshold searches of the GP strategies,
  ended by the goal's stopping rule (``stop_undiscovered``) or a budget instead of a fixed
  horizon: evaluations at the stop, recall then, and evaluations spent after the last hit.

A trial stops early once its curve can no longer change (optimum found; every composition below
tau found): the decisions of a replay never depend on later evaluations, so the curves are those
of full-length trials. :func:`run_benchmark` runs the trials in worker processes and writes the
curves (CSV), every trace (CSV), a markdown summary and PNG figures (:func:`write_outputs`).

Modules, in import order (each imports only those above it; ``lint-imports`` checks this):

- :mod:`.metrics`: hit times, P(found) and found-count curves of traces;
- :mod:`.data`: the data sets (:class:`BenchmarkData`, reference and synthetic sets);
- :mod:`.settings`: strategy names and :class:`BenchmarkSettings`;
- :mod:`.results`: the records, :class:`TrialResult` and :class:`BenchmarkRun`;
- :mod:`.trials`: one trial, and the worker processes that run them;
- :mod:`.tables`: curves, summary rows and the markdown summary of a run;
- :mod:`.plots`: the PNG figures;
- :mod:`.outputs`: :func:`write_outputs`, every file of a run;
- :mod:`.run`: :func:`run_benchmark`, the entry point (check, plan, run, write).
"""
