"""The scale on which the GP models E_b: as measured (``none``) or its logarithm (``log``).

Migration barriers are positive and right-skewed (CHGNet Na: median 0.40 eV, 95th percentile
1.07 eV, maximum 3.3 eV), while the searches care about the low tail. On ``log`` E_b the tail of
high barriers no longer sets the GP's signal variance, and a 0.09 vs 0.16 eV difference weighs as
much as 0.9 vs 1.6 eV. Level-set and improvement targets move with the data: ``P(E_b < tau)`` is
``P(log E_b < log tau)``, and the EI margin ``xi`` (eV) becomes the log-distance from the
incumbent to ``incumbent - xi``. Reported predictions go back to eV (log-normal mean and standard
deviation). docs/benchmarks.md gives the measured effect.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["LOG_FLOOR", "TARGET_TRANSFORMS", "TargetScale", "TargetTransform"]

TargetTransform = Literal["none", "log"]
TARGET_TRANSFORMS: tuple[str, ...] = ("none", "log")

#: Barriers below this (eV) count as this on the log scale (a barrierless hop stays finite).
LOG_FLOOR = 1e-3

FloatArray = npt.NDArray[np.float64]


class TargetScale:
    """Map E_b, thresholds and margins (eV) to the GP's scale and predictions back to eV.

    Parameters
    ----------
    kind : {"none", "log"}
        ``none`` is the identity.
    """

    def __init__(self, kind: str = "none") -> None:
        if kind not in TARGET_TRANSFORMS:
            raise ValueError(
                f"unknown target transform {kind!r}; expected one of {TARGET_TRANSFORMS}"
            )
        self.kind = kind

    @property
    def is_log(self) -> bool:
        """Whether the GP sees log E_b."""
        return self.kind == "log"

    def forward(self, y: npt.ArrayLike) -> FloatArray:
        """E_b (eV) on the GP's scale."""
        arr = np.asarray(y, dtype=float)
        return np.log(np.maximum(arr, LOG_FLOOR)) if self.is_log else arr

    def level(self, tau: float) -> float:
        """A threshold (eV) on the GP's scale."""
        return float(self.forward(tau))

    def margin(self, xi: float, best: float) -> float:
        """The EI/PI margin ``xi`` (eV below the incumbent ``best``, eV) on the GP's scale.

        On the log scale the margin is ``log(best) - log(best - xi)``; when ``best - xi`` would
        fall below :data:`LOG_FLOOR` it is measured to the floor.
        """
        if not self.is_log or xi == 0.0:
            return float(xi)
        lower = max(best - xi, LOG_FLOOR)
        return math.log(max(best, LOG_FLOOR)) - math.log(lower)

    def to_ev(self, mean: float, std: float) -> tuple[float, float]:
        """A prediction (mean, std) on the GP's scale as mean and std of E_b in eV.

        On the log scale these are the log-normal moments ``exp(m + s^2/2)`` and
        ``mean * sqrt(exp(s^2) - 1)``; NaN (random picks) stays NaN.
        """
        if not self.is_log or math.isnan(mean):
            return mean, std
        var = std * std
        m = math.exp(mean + var / 2.0)
        return m, m * math.sqrt(math.expm1(var))
