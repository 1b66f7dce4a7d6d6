"""Probability that an evaluation gives a trusted result, from the campaign's own outcomes.

A failed evaluation (unconverged NEB, a dip that survived repair, a reconstructed framework)
says where the engine cannot be trusted, not how high the barrier is. Imputing it as the worst
E_b (``failed_value: worst``) teaches the regression GP that compositions sharing an element
with the failure are slow. Constrained Bayesian optimisation with an unknown constraint
(Gelbart, Snoek & Adams, UAI 2014) keeps the two apart: the regression GP sees trusted results
only, a GP classifier learns trusted versus failed, and the acquisition is weighted by the
probability of a trusted result. scikit-learn's :class:`GaussianProcessClassifier` (Laplace
approximation) is the classifier; nothing here is written by hand except the guard for a
campaign that has seen one outcome only. Measured on the panel it is ahead of ``worst`` on
CHGNet Li and behind on CHGNet Na (docs/benchmarks.md, "Why the exact Na optimum is missed"),
so it is a setting, not the default.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessClassifier
from sklearn.gaussian_process.kernels import ConstantKernel, Matern

__all__ = ["trusted_probability"]


def trusted_probability(
    X_trusted: npt.ArrayLike,
    X_failed: npt.ArrayLike,
    X_pool: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """P(an evaluation of each pool row finishes with a trusted result).

    Parameters
    ----------
    X_trusted, X_failed : array-like of shape (n, n_features)
        Standardised descriptors of the compositions evaluated with a trusted result and of
        those whose result the engine could not trust.
    X_pool : array-like of shape (n_pool, n_features)
        Candidates to score.

    Returns
    -------
    ndarray of shape (n_pool,)
        Probabilities in (0, 1]; all ones while only one outcome has been seen (no classifier
        can be fitted, and nothing argues against any candidate yet).

    Examples
    --------
    >>> import numpy as np
    >>> good = np.array([[0.0], [0.2], [0.4], [0.6]])
    >>> bad = np.array([[3.0], [3.2], [3.4]])
    >>> p = trusted_probability(good, bad, np.array([[0.3], [3.3]]))
    >>> bool(p[0] > 0.5 > p[1])
    True
    """
    good = np.asarray(X_trusted, dtype=float)
    bad = np.asarray(X_failed, dtype=float)
    pool = np.asarray(X_pool, dtype=float)
    if len(good) == 0 or len(bad) == 0:
        return np.ones(len(pool))
    X = np.vstack([good, bad])
    labels = np.r_[np.ones(len(good), dtype=int), np.zeros(len(bad), dtype=int)]
    # One shared length scale: with 5-50 outcomes there is too little to fit one per column.
    # The added constant is a latent offset the posterior learns (about the logit of the
    # trusted fraction): far from every outcome the probability returns to that rate, not to
    # 0.5, so unexplored regions are not marked down against explored successful ones.
    # The amplitude is capped (latent sd <= 3): outcomes that separate perfectly, as a few
    # failures in one framework family do, otherwise drive it to any bound and every
    # unexplored candidate to 0.5.
    kernel = ConstantKernel(1.0, (1e-2, 9.0)) + ConstantKernel(1.0, (1e-2, 9.0)) * Matern(
        length_scale=float(np.sqrt(X.shape[1])), length_scale_bounds=(1e-1, 1e3), nu=2.5
    )
    gpc = GaussianProcessClassifier(kernel=kernel, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gpc.fit(X, labels)
    return np.asarray(gpc.predict_proba(pool)[:, 1], dtype=float)
