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

from workflows.errors import CalculationError, ConfigError

if TYPE_CHECKING:
    from workflows.physics.schemas import BarrierResult

__all__ = ["ScreenReport", "parse_shard", "screen", "shard"]

logger = logging.getLogger(__name__)


@dataclass
class ScreenReport:
    """What a screening pass did."""

    computed: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def parse_shard(text: str) -> tuple[int, int]:
    """Read ``"K/N"`` (shard K of N, 1-based) or raise a one-line :class:`ConfigError`."""
    try:
        k_text, n_text = text.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise ConfigError(f"shard {text!r} is not K/N (e.g. 2/3)") from None
    if not 1 <= k <= n:
        raise ConfigError(f"shard {text!r}: K must be between 1 and N")
    return k, n


def shard(candidate_ids: Sequence[str], k: int, n: int) -> list[str]:
    """The K-th of N contiguous, near-equal blocks of the list (as ``numpy.array_split``).

    Blocks rather than every N-th ID, so that a screen that ran the start of the list alone
    and is restarted as shard 1 has not done work that belongs to another shard.
    """
    size, extra = divmod(len(candidate_ids), n)
    start = (k - 1) * size + min(k - 1, extra)
    stop = start + size + (1 if k <= extra else 0)
    return list(candidate_ids[start:stop])


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
    from workflows.flows.evaluation import evaluate, stored_barrier

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
