"""Committee of two potentials: evaluate a composition with both and flag E_b they disagree on.

Universal potentials trained on near-equilibrium data soften barriers, each in its own way; where
two of them (CHGNet and SevenNet) disagree by more than a margin, neither E_b should be taken on
trust. An MLP engine with the setting ``committee=<other engine>`` runs the other engine's flow
beside its own (same settings) and ends with ``committee barrier``: its own result, with
``extra["committee"]`` recording both E_b, their difference and whether it exceeds the margin.
``tavbo barriers`` shows the flag (``committee``); the agent copies it into the decision's audit
record. The E_b the GP sees stays the primary engine's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobflow import Flow, job

from workflows.physics.schemas import BarrierResult, trust_issues

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["COMMITTEE_NAME", "committee_barrier", "committee_flow", "committee_record"]

COMMITTEE_NAME = "committee barrier"


def committee_record(primary: BarrierResult, second: BarrierResult, margin: float) -> dict:
    """Both E_b (eV, each from its own reference), their difference and the disagreement flag."""
    difference = float(second.e_b - primary.e_b)
    return {
        "engines": [primary.engine, second.engine],
        "e_b": {primary.engine: primary.e_b, second.engine: second.e_b},
        "reference": {primary.engine: primary.reference, second.engine: second.reference},
        "difference": difference,
        "margin": margin,
        "disagree": abs(difference) > margin,
        "second_issues": trust_issues(second.hops, second.extra),
        "second_potential": second.extra.get("potential"),
        "second_versions": second.versions,
    }


@job(name=COMMITTEE_NAME)
def committee_barrier(
    primary: BarrierResult | dict[str, Any], second: BarrierResult | dict[str, Any], margin: float
) -> BarrierResult:
    """The primary result with ``extra["committee"]`` (:func:`committee_record`)."""
    primary = BarrierResult.model_validate(primary)
    second = BarrierResult.model_validate(second)
    record = committee_record(primary, second, margin)
    return primary.model_copy(update={"extra": {**primary.extra, "committee": record}})


def committee_flow(
    primary: Flow, second_engine: str, settings: Mapping[str, Any], structure: Any, cid: str,
    margin: float,
) -> Flow:  # fmt: skip
    """``primary`` and the flow of ``second_engine`` (same ``settings``), then the comparison."""
    from workflows.engines import get_maker

    second = get_maker(second_engine, **settings).make(structure, cid)
    compare = committee_barrier(primary.output, second.output, margin)
    return Flow([primary, second, compare], output=compare.output, name=primary.name)
