"""The read-only Python API over a LaunchPad's results and campaigns (docs/api.md).

Import names from the module that defines them: :mod:`bo_agent.api.store` (``Store``),
:mod:`bo_agent.api.tables`, :mod:`bo_agent.api.jobs`, :mod:`bo_agent.api.predictions`.
"""
