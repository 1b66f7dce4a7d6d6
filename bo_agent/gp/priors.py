"""Hyperpriors of tavbo's GPs: MAP instead of maximum-likelihood hyperparameters.

With 5-20 observations and one length scale per descriptor (about 31 for oBO), the marginal
likelihood alone overfits: it happily shrinks a few length scales to explain five points. A
prior on the hyperparameters regularises the fit; :func:`bo_agent.gp.likelihood._optimize` then
minimises ``-lml(theta) - log p(theta)`` (maximum a posteriori).

Presets (:data:`HYPERPRIORS`):

- ``"none"``: maximum likelihood, no prior.
- ``"gamma"``: independent Gamma priors on the natural values (not the logs) of

  - each length scale of an ARD kernel over ``d`` columns: ``Gamma(3, 2 / mode)`` with
    ``mode = LENGTH_SCALE_MODE_PER_SQRT_DIM * sqrt(d)``. This is BayBE's default (Hvarfner et al.
    2024, "Vanilla Bayesian optimization performs great in high dimensions": the length scale
    grows with ``sqrt(d)``, concentration 3 as BoTorch's classic ``Gamma(3, 6)``), converted
    from BayBE's inputs normalised to [0, 1] to tavbo's standardised descriptors, whose
    columns span about 3 standard deviations over the default space (2.1-4.4);
  - each signal variance (``ConstantKernel``): ``Gamma(2, 0.15)``, BoTorch's classic output
    scale prior (weak; targets are standardised);
  - the white-noise variance: ``Gamma(2, 1 / exp(-5))``, mode ``exp(-5) = 0.0067`` (BayBE's
    default noise prior; standardised targets).

  Other hyperparameters (the coregionalisation correlation and target scale) get no prior.
  The Gamma's light tail makes a long length scale expensive (about ``rate * l`` nats), so
  ARD can no longer switch an irrelevant column off, even with 159 observations.
- ``"gamma-total"``: ``"gamma"`` with the signal-variance prior on the kernel's total: each of
  the ``G`` amplitudes of an additive kernel gets ``Gamma(2, 0.15 G)``, so their sum has the
  prior mean of one ``Gamma(2, 0.15)`` (BoTorch puts its output-scale prior on the one
  ``ScaleKernel`` around a sum). With ``"gamma"`` every group of aBO's ten gets the whole
  prior, and with 5-15 results the predictive std is 2-4 times the actual error
  (docs/benchmarks.md, "The signal-variance prior on aBO's total").
- ``"lognormal"``: BoTorch's default since 0.12 (Hvarfner et al. 2024): each ARD length scale
  ``LogNormal(sqrt(2) + log(d) / 2 + log(3), sqrt(3))`` (the ``log(3)`` converts [0, 1] inputs
  to standardised columns spanning about 3 standard deviations; same mode as ``"gamma"``),
  the noise variance ``LogNormal(-4, 1)``, no prior on the signal variance. The heavy tail in
  ``log(l)`` (a quadratic penalty) still lets ARD switch a column off when the data say so.

The log-density follows GPyTorch's convention (density of the natural value, no Jacobian of the
log transform), so a ``Gamma(a, b)`` here is the ``GammaPrior(a, b)`` of BoTorch and BayBE. In
the optimiser's coordinates ``theta = log(value)`` it is ``(a - 1) * theta - b * exp(theta)``,
with gradient ``(a - 1) - b * exp(theta)``; a ``LogNormal(mu, s)`` is
``-(theta - mu)**2 / (2 s**2) - theta``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.gaussian_process.kernels import Kernel

from workflows.errors import ConfigError

__all__ = [
    "HYPERPRIORS",
    "LENGTH_SCALE_MODE_PER_SQRT_DIM",
    "HyperPrior",
    "HyperpriorName",
    "check_hyperprior",
]

FloatArray = npt.NDArray[np.float64]

HyperpriorName = Literal["none", "gamma", "gamma-total", "lognormal"]
#: Names accepted by :func:`HyperPrior.for_kernel` (and the ``hyperprior`` option of the models).
HYPERPRIORS: tuple[str, ...] = ("none", "gamma", "gamma-total", "lognormal")

#: Prior mode of an ARD length scale per sqrt(number of columns), standardised units:
#: BayBE's ``exp(sqrt(2) - 3)`` on [0, 1] inputs times a column span of 3 standard deviations.
LENGTH_SCALE_MODE_PER_SQRT_DIM = 3.0 * math.exp(math.sqrt(2.0) - 3.0)

#: (concentration, rate) of the signal-variance and noise-variance priors of ``"gamma"``.
_AMPLITUDE_GAMMA = (2.0, 0.15)
_NOISE_GAMMA = (2.0, math.exp(5.0))
_LENGTH_SCALE_CONCENTRATION = 3.0
#: (mu, sigma) of the ``"lognormal"`` priors: length scale (mu + log(d) / 2) and noise.
_LENGTH_SCALE_LOGNORMAL = (math.sqrt(2.0) + math.log(3.0), math.sqrt(3.0))
_NOISE_LOGNORMAL = (-4.0, 1.0)


def check_hyperprior(name: str) -> None:
    """Raise ConfigError (one line) unless ``name`` is a known preset."""
    if name not in HYPERPRIORS:
        raise ConfigError(f"unknown hyperprior {name!r}; expected one of {list(HYPERPRIORS)}")


@dataclass(frozen=True)
class HyperPrior:
    """Independent log-priors on the entries of a kernel's ``theta`` (log values).

    Entry ``i`` has the log-density ``(a_i - 1) * theta_i - b_i * exp(theta_i)`` (a Gamma(a, b)
    on the natural value; ``(1, 0)`` is flat) plus ``-(theta_i - mu_i)**2 / (2 s_i**2) - theta_i``
    where ``lognormal[i]`` (a LogNormal(mu, s)).

    Attributes
    ----------
    concentration, rate : ndarray of shape (n_theta,)
        Gamma parameters per entry.
    mu, sigma : ndarray of shape (n_theta,)
        LogNormal parameters per entry (used where ``lognormal``).
    lognormal : ndarray of bool, shape (n_theta,)
    """

    concentration: FloatArray
    rate: FloatArray
    mu: FloatArray
    sigma: FloatArray
    lognormal: npt.NDArray[np.bool_]

    @classmethod
    def for_kernel(
        cls, kernel: Kernel, name: str, n_features: int | None = None
    ) -> HyperPrior | None:
        """The prior ``name`` over ``kernel.theta`` (None for ``"none"`` or no prior term).

        Hyperparameters are recognised by name: ``*length_scale``, ``*constant_value`` and
        ``*noise_level``; fixed ones are not in ``theta``. ``d``, the columns a length scale
        acts on, is its number of elements for an ARD kernel; a shared (isotropic) length
        scale acts on the columns of its :class:`~bo_agent.gp.group_kernels.GroupKernel`, or on
        all ``n_features`` (1 if not given).

        Raises
        ------
        ConfigError
            For an unknown preset.
        """
        check_hyperprior(name)
        if name == "none":
            return None
        rows: list[tuple[float, float, float, float, bool]] = []  # a, b, mu, sigma, lognormal
        flat = (1.0, 0.0, 0.0, 1.0, False)
        free = [h for h in kernel.hyperparameters if not h.fixed]
        terms = sum(int(h.n_elements) for h in free if h.name.endswith("constant_value"))
        amplitude = _AMPLITUDE_GAMMA
        if name == "gamma-total":
            amplitude = (amplitude[0], amplitude[1] * max(1, terms))
        for h in free:
            k = int(h.n_elements)
            row = flat
            if h.name.endswith("length_scale"):
                d = k if k > 1 else _shared_columns(kernel, h.name, n_features)
                if name != "lognormal":
                    mode = LENGTH_SCALE_MODE_PER_SQRT_DIM * math.sqrt(d)
                    conc = _LENGTH_SCALE_CONCENTRATION
                    row = (conc, (conc - 1.0) / mode, 0.0, 1.0, False)
                else:
                    mu, sigma = _LENGTH_SCALE_LOGNORMAL
                    row = (1.0, 0.0, mu + 0.5 * math.log(d), sigma, True)
            elif h.name.endswith("constant_value") and name != "lognormal":
                row = (*amplitude, 0.0, 1.0, False)
            elif h.name.endswith("noise_level"):
                if name != "lognormal":
                    row = (*_NOISE_GAMMA, 0.0, 1.0, False)
                else:
                    row = (1.0, 0.0, *_NOISE_LOGNORMAL, True)
            rows += [row] * k
        if len(rows) != kernel.n_dims:  # pragma: no cover  (sklearn's theta is these, in order)
            raise ConfigError(f"cannot map a prior onto the {kernel.n_dims} hyperparameters")
        if all(r == flat for r in rows):
            return None
        a, b, mu, sigma, ln = (np.asarray(col) for col in zip(*rows, strict=True))
        return cls(
            a.astype(float), b.astype(float), mu.astype(float), sigma.astype(float), ln.astype(bool)
        )

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """``log p(theta)`` (up to a constant) and its gradient with respect to ``theta``."""
        value = np.exp(theta)
        u = np.where(self.lognormal, (theta - self.mu) / self.sigma**2, 0.0)
        logp = (self.concentration - 1.0) * theta - self.rate * value
        logp -= np.where(self.lognormal, 0.5 * u * (theta - self.mu) + theta, 0.0)
        grad = (self.concentration - 1.0) - self.rate * value - u - self.lognormal
        return float(np.sum(logp)), grad

    def penalise(self, objective: Callable[..., Any]) -> Callable[..., Any]:
        """``objective`` (``-lml``, sklearn's protocol) minus the log prior: ``-log posterior``."""

        def negative_log_posterior(
            theta: FloatArray, eval_gradient: bool = True
        ) -> float | tuple[float, FloatArray]:
            logp, dlogp = self(np.asarray(theta, dtype=float))
            if not eval_gradient:
                return float(objective(theta, eval_gradient=False)) - logp
            value, grad = objective(theta, eval_gradient=True)
            return float(value) - logp, np.asarray(grad, dtype=float) - dlogp

        return negative_log_posterior


def _shared_columns(kernel: Kernel, hyperparameter: str, n_features: int | None) -> int:
    """Columns a shared length scale acts on: its column group's, else all ``n_features``.

    sklearn names a hyperparameter by its path (``k1__k0__k2__kernel__length_scale``); the
    nearest enclosing kernel with ``dims`` (a ``GroupKernel``) sets the columns. A
    coregionalisation kernel's task column is not a feature.
    """
    params = kernel.get_params(deep=True)
    path = hyperparameter.split("__")[:-1]
    while path:
        owner = params.get("__".join(path))
        dims = getattr(owner, "dims", None)
        if dims is not None:
            return max(1, len(dims))
        path.pop()
    if n_features is None:
        return 1
    has_task = any(hasattr(v, "task_column") for v in params.values())
    return max(1, n_features - int(has_task))
