"""Standardisation of descriptor tables over a reference candidate pool.

:class:`DescriptorScaler` (fit, transform) and :func:`standardise` (one call) rescale the raw
columns of :func:`bo_agent.features.descriptors.compute_descriptors` to zero mean and unit variance
over a whole pool and drop the columns constant over it. Both are also importable from
:mod:`bo_agent.features.descriptors`.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from bo_agent.errors import DescriptorError
from bo_agent.features.table import DescriptorTable

__all__ = ["CONSTANT_RTOL", "DescriptorScaler", "standardise"]

#: Relative tolerance below which a column's standard deviation counts as zero.
CONSTANT_RTOL = 1e-12


class DescriptorScaler:
    """Standardise descriptor columns to zero mean and unit variance over a reference pool.

    Fit on the whole candidate pool (it is finite and known in advance, so this uses no
    barrier data); for Li -> Na transfer fit on the union of both carriers' pools so that both
    searches share one feature space.

    Parameters
    ----------
    drop_constant : bool, default=True
        Drop columns whose standard deviation over the pool is zero (within a relative
        ``CONSTANT_RTOL``). If False they are kept, centred to 0 with unit scale.

    Attributes
    ----------
    names_in_ : tuple of str
        Columns of the fitted table.
    mean_, scale_ : ndarray of shape (n_features_in,)
        Pool mean and population standard deviation (1 for constant columns).
    kept_ : tuple of int
        Indices into ``names_in_`` of the output columns, in order.
    dropped_ : tuple of str
        Names of the constant columns left out.
    """

    def __init__(self, *, drop_constant: bool = True) -> None:
        self.drop_constant = drop_constant

    def fit(self, table: DescriptorTable) -> Self:
        """Learn the pool mean and scale of each column; returns ``self``.

        Raises
        ------
        DescriptorError
            If every column is constant over the pool (nothing would be left to learn from).
        """
        mean = table.values.mean(axis=0)
        scale = table.values.std(axis=0)
        constant = scale <= CONSTANT_RTOL * np.maximum(1.0, np.abs(mean))
        if self.drop_constant and constant.all():
            raise DescriptorError(
                f"every descriptor is constant over the {table.n_candidates}-candidate pool; "
                "fit the scaler on the whole pool, not on one composition"
            )
        self.names_in_ = table.names
        self.mean_ = mean
        self.scale_ = np.where(constant, 1.0, scale)
        keep = ~constant if self.drop_constant else np.ones_like(constant)
        self.kept_ = tuple(int(j) for j in np.flatnonzero(keep))
        self.dropped_ = tuple(
            n for n, c in zip(table.names, constant, strict=True) if c and self.drop_constant
        )
        return self

    def transform(self, table: DescriptorTable) -> DescriptorTable:
        """Standardise ``table`` with the fitted statistics and keep the fitted columns.

        Group indices of the result (:meth:`DescriptorTable.groups`) refer to its own columns.

        Raises
        ------
        DescriptorError
            If the scaler is not fitted or ``table`` has other columns than the fitted one.
        """
        if not hasattr(self, "names_in_"):
            raise DescriptorError("DescriptorScaler is not fitted; call fit(pool_table) first")
        if table.names != self.names_in_:
            raise DescriptorError(
                "table columns differ from those the scaler was fitted on; "
                "compute both with the same compute_descriptors version"
            )
        z = (table.values - self.mean_) / self.scale_
        keep = list(self.kept_)
        return DescriptorTable(
            names=tuple(table.names[j] for j in keep),
            ids=table.ids,
            values=z[:, keep],
            site_of=tuple(table.site_of[j] for j in keep),
            kind_of=tuple(table.kind_of[j] for j in keep),
        )

    def fit_transform(self, table: DescriptorTable) -> DescriptorTable:
        """``fit(table).transform(table)``."""
        return self.fit(table).transform(table)


def standardise(
    table: DescriptorTable,
    reference: DescriptorTable | None = None,
    *,
    drop_constant: bool = True,
) -> DescriptorTable:
    """Standardise ``table`` with statistics of ``reference`` (default: ``table`` itself).

    Parameters
    ----------
    table : DescriptorTable
        Raw descriptors to transform.
    reference : DescriptorTable, optional
        The pool to fit on, e.g. the union of Li and Na candidates for transfer learning, so
        Li and Na rows land in one feature space with the same columns.
    drop_constant : bool, default=True
        See :class:`DescriptorScaler`.

    Returns
    -------
    DescriptorTable
        Same rows as ``table``; the columns not constant over ``reference``.

    Examples
    --------
    >>> from bo_agent.features.descriptors import compute_descriptors
    >>> from workflows.space.compositions import default_space
    >>> pool = compute_descriptors(default_space())
    >>> z = standardise(pool)
    >>> z.n_features, list(z.groups("site"))
    (31, ['A', 'M', 'X', 'Z'])
    >>> na = pool.subset([i for i in pool.ids if i.startswith("Na-")])
    >>> standardise(na, reference=pool).names == z.names
    True
    """
    scaler = DescriptorScaler(drop_constant=drop_constant)
    return scaler.fit(reference if reference is not None else table).transform(table)
