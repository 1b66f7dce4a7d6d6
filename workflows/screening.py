"""Exhaustive screening: evaluate every composition of a space with one engine, resumably.

This is how the reference data sets are made (``tavbo screen --engine chgnet``): one campaign,
one FireWorks workflow per composition, run in this process on the embedded LaunchPad (or on
any LaunchPad). Finished compositions are never recomputed, a failed one is recorded and
skipped (``retry_failed`` runs it again), and the process can be killed and restarted at any
time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflows.errors import CalculationError

if TYPE_CHECKING:
    from workflows.schemas import BarrierResult

__all__ = ["ScreenReport", "screen"]

logger = logging.getLogger(__name__)


@dataclass
class ScreenReport:
    """What a screening pass did."""

    computed: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def screen(
    candidate_ids: Sequence[str],
    engine: str,
    campaign: str,
    launchpad: Any,
    *,
    space: str | None = None,
    retry_failed: bool = False,
    on_result: Callable[[str, BarrierResult | None, str | None], None] | None = None,
    **engine_settings: Any,
) -> ScreenReport:
    """Evaluate each ID in order (finished ones are read back, not recomputed).

    Parameters
    ----------
    candidate_ids : sequence of str
        Compositions to evaluate.
    engine, campaign : str
        Engine name and the campaign that owns the results.
    launchpad : TavboLaunchPad
        Open LaunchPad (results land in its database).
    space : str, optional
        Composition-space file.
    retry_failed : bool, default=False
        Run compositions whose earlier evaluation FIZZLED again.
    on_result : callable, optional
        Called as ``on_result(id, result_or_None, error_or_None)`` after each composition.
    **engine_settings
        Fields of the engine's maker.
    """
    from workflows.evaluation import evaluate, stored_barrier

    report = ScreenReport()
    for cid in candidate_ids:
        if stored_barrier(launchpad, cid, engine, campaign) is not None:
            report.already_done.append(cid)
            if on_result is not None:
                on_result(cid, stored_barrier(launchpad, cid, engine, campaign).to_result(), None)
            continue
        try:
            result = evaluate(
                cid, engine, campaign, launchpad, space=space, retry_failed=retry_failed,
                **engine_settings,
            )  # fmt: skip
        except CalculationError as exc:
            report.failed[cid] = str(exc)
            logger.warning("%s failed: %s", cid, exc)
            if on_result is not None:
                on_result(cid, None, str(exc))
            continue
        report.computed.append(cid)
        if on_result is not None:
            on_result(cid, result, None)
    return report
