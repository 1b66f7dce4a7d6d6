"""The benchmark panel (``tavbo benchmark --panel``): one default strategy judged on many problems.

Modules, in import order: :mod:`.landscapes` (synthetic, noisy and unrelated-source data),
:mod:`.problems` (the problems and their strategies), :mod:`.report` (table, goals, figure),
:mod:`.run` (:func:`~bo_agent.benchmark.panel.run.run_panel`).
"""
