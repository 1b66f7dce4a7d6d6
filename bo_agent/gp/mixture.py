"""Several fits of one GP, averaged: the acquisition integrated over hyperparameters.

The hyperparameters of a GP fitted to 5-50 results are uncertain, and which estimate searches
best depends on the landscape (docs/benchmarks.md: the Gamma priors win on CHGNet Li and the
synthetic interacting landscape, maximum likelihood on CHGNet Na). Snoek, Larochelle & Adams
(2012, "Practical Bayesian optimization of machine learning algorithms") integrate the
acquisition over the hyperparameter posterior instead of committing to one estimate; here the
"samples" are the fits under each hyperprior, equally weighted, and the acquisition of a pool
candidate is the mean of the members' acquisitions (:meth:`MixturePosterior.members`). A
candidate one fit calls promising keeps half its score however confident the other is.

Written by hand: the GP libraries at hand (scikit-learn, BoTorch's fully Bayesian SAAS model)
average over MCMC samples of one prior, not over fits under different priors of this GP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["MixturePosterior", "ModelAverage"]

FloatArray = npt.NDArray[np.float64]


class _Member(Protocol):
    def fit(self, X: Any, y: Any, /, **kwargs: Any) -> Any: ...
    def predict(self, X: Any, return_std: bool = False) -> Any: ...
    def pool_posterior(self, X: Any, /) -> Any: ...
    def fitted_hyperparameters(self) -> dict[str, Any]: ...


class MixturePosterior:
    """The members' pool posteriors side by side, conditioned together (kriging believer).

    ``mean`` and ``std`` are the mixture's moments (what the decision record shows);
    an acquisition is averaged over :attr:`members`, not computed from the moments.
    """

    def __init__(self, members: Sequence[Any]) -> None:
        self.members = list(members)

    @property
    def n_candidates(self) -> int:
        """Number of candidates in the pool."""
        return int(self.members[0].n_candidates)

    @property
    def mean(self) -> FloatArray:
        """Mixture mean, eV: the average of the members' means."""
        return np.mean([m.mean for m in self.members], axis=0)

    @property
    def std(self) -> FloatArray:
        """Mixture standard deviation, eV: within-member variance plus the spread of the
        members' means."""
        means = np.array([m.mean for m in self.members])
        var = np.mean([m.std**2 for m in self.members], axis=0) + means.var(axis=0)
        return np.sqrt(var)

    def condition(self, i: int) -> None:
        """Treat candidate ``i`` as observed at each member's own mean."""
        for m in self.members:
            m.condition(i)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> FloatArray:
        """Joint samples, each from a member drawn uniformly."""
        rng = np.random.default_rng(random_state)
        which = rng.integers(len(self.members), size=n_samples)
        out = np.empty((n_samples, self.n_candidates))
        for k, member in enumerate(self.members):
            rows = np.flatnonzero(which == k)
            if rows.size:
                out[rows] = member.sample(rows.size, rng)
        return out


class ModelAverage:
    """Equal-weight average of fitted models (their ``names``, e.g. the hyperpriors)."""

    def __init__(self, members: Sequence[_Member], names: Sequence[str]) -> None:
        if len(members) != len(names) or not members:
            raise ValueError("ModelAverage needs one name per member and at least one member")
        self.members = list(members)
        self.names = list(names)

    def fit(self, X: Any, y: Any, /, **kwargs: Any) -> ModelAverage:
        """Fit every member on the same data."""
        for m in self.members:
            m.fit(X, y, **kwargs)
        return self

    def predict(
        self,
        X: Any,
        return_std: bool = False,
    ) -> FloatArray | tuple[FloatArray, FloatArray]:
        """Mixture mean (and standard deviation), eV."""
        fits = [m.predict(X, return_std=True) for m in self.members]
        means = np.array([f[0] for f in fits])
        mean = means.mean(axis=0)
        if not return_std:
            return mean
        var = np.mean([f[1] ** 2 for f in fits], axis=0) + means.var(axis=0)
        return mean, np.sqrt(var)

    def pool_posterior(self, X: Any, /) -> MixturePosterior:
        """The members' posteriors over a candidate pool."""
        return MixturePosterior([m.pool_posterior(X) for m in self.members])

    def fitted_hyperparameters(self) -> dict[str, Any]:
        """Each member's fitted hyperparameters, by name."""
        pairs = zip(self.names, self.members, strict=True)
        return {"average": {n: m.fitted_hyperparameters() for n, m in pairs}}
