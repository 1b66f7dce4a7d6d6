"""A read-only view of one LaunchPad (embedded store or MongoDB) for notebooks and the dashboard.

:class:`Store` opens the LaunchPad with ``open_launchpad(read_only=True)``: on the embedded store
that is the last checkpoint, a consistent snapshot even while a campaign writes (the owner
replaces the checkpoint atomically), never locked and never written back; on MongoDB it reads
the live database. :meth:`Store.refresh` takes a new snapshot. Every query goes through the
read layer that ``tavbo barriers`` and ``tavbo status`` use (:mod:`workflows.results.documents`,
:mod:`bo_agent.campaign.report`), never through the store's file format.

Example::

    from bo_agent.api.store import Store

    with Store.open() as store:
        df = store.barriers(campaign="demo", carrier="Na")
        best = df.iloc[0]
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bo_agent.api import jobs, predictions, tables
from workflows.launchpad.opening import open_launchpad
from workflows.launchpad.tavbo_launchpad import current_launchpad

if TYPE_CHECKING:
    import pandas as pd

    from bo_agent.campaign.report import CampaignSummary
    from workflows.launchpad.tavbo_launchpad import TavboLaunchPad
    from workflows.physics.schemas import BarrierResult

__all__ = ["Store", "scrub"]

_CREDENTIALS = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^@/\s]+@")


def scrub(text: str) -> str:
    """``text`` with the credentials of any connection string masked (``mongodb://***@host``)."""
    return _CREDENTIALS.sub(r"\1***@", text)


class Store:
    """Read-only queries over one LaunchPad; use :meth:`open`, and close it (or use ``with``).

    All methods return plain data: pandas DataFrames, :class:`BarrierResult` objects,
    dataclasses and dicts. Energies are in eV. Thread-safe: calls are serialised by
    :attr:`lock`, because a process has one LaunchPad and one mongoengine binding.
    """

    def __init__(
        self,
        *,
        store_path: str | Path | None = None,
        launchpad_file: str | Path | None = None,
    ) -> None:
        self._store_path = store_path
        self._launchpad_file = launchpad_file
        self._lp: TavboLaunchPad | None = None
        self._owned = False
        self.opened_at = 0.0
        self.lock = threading.RLock()

    @classmethod
    def open(
        cls,
        *,
        store_path: str | Path | None = None,
        launchpad_file: str | Path | None = None,
    ) -> Store:
        """Open the LaunchPad of the settings (``TAVBO_*``), or of ``store_path`` (embedded)
        or ``launchpad_file`` (MongoDB ``my_launchpad.yaml``), read-only.

        Raises
        ------
        ConfigError, DatabaseError
            As :func:`workflows.launchpad.opening.open_launchpad` (one-line messages).
        """
        store = cls(store_path=store_path, launchpad_file=launchpad_file)
        store.refresh()
        return store

    # ------------------------------------------------------------------ lifecycle
    @property
    def launchpad(self) -> TavboLaunchPad:
        """The open read-only LaunchPad (raises after :meth:`close`)."""
        if self._lp is None or self._lp.closed:
            from workflows.errors import DatabaseError

            raise DatabaseError("this Store is closed; open a new one with Store.open()")
        return self._lp

    @property
    def mode(self) -> Literal["embedded", "mongodb"]:
        """``embedded`` (a checkpoint snapshot) or ``mongodb`` (live)."""
        return "mongodb" if self.launchpad.mode == "mongodb" else "embedded"

    @property
    def where(self) -> str:
        """Where the data come from, without credentials: a store file or a masked MongoDB host."""
        lp = self.launchpad
        if lp.mode == "mongodb":
            from workflows.launchpad.config import load_launchpad_config

            config = load_launchpad_config(lp.source[1])
            return scrub(f"MongoDB {config.where()} database {lp.name}")
        return f"embedded store {lp.source[1]}"

    def refresh(self) -> None:
        """Take a new snapshot (embedded: reload the last checkpoint; MongoDB: reconnect only
        if closed). A LaunchPad this process already had open is used as it is."""
        with self.lock:
            if self._lp is not None and not self._lp.closed and self._lp.mode == "mongodb":
                self.opened_at = time.time()
                return
            self.close()
            before = current_launchpad()
            self._lp = open_launchpad(
                store_path=self._store_path,
                launchpad_file=self._launchpad_file,
                read_only=True,
            )
            self._owned = self._lp is not before
            self.opened_at = time.time()

    def close(self) -> None:
        """Close the LaunchPad if this Store opened it; idempotent."""
        with self.lock:
            if self._lp is not None and self._owned:
                self._lp.close()
            self._lp, self._owned = None, False

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ campaigns
    def campaign_names(self) -> list[str]:
        """Names of every campaign in the database."""
        from bo_agent.campaign.report import campaign_names

        with self.lock:
            self.launchpad  # noqa: B018 - raises when closed
            return campaign_names()

    def summary(self, campaign: str) -> CampaignSummary:
        """What ``tavbo status`` shows about ``campaign`` (:class:`CampaignSummary`)."""
        from bo_agent.campaign.report import summarise

        with self.lock:
            self.launchpad  # noqa: B018
            return summarise(campaign)

    def candidates(self, campaign: str) -> pd.DataFrame:
        """The campaign's candidate table: one row per composition, with status and E_b."""
        with self.lock:
            self.launchpad  # noqa: B018
            return tables.candidates_frame(campaign)

    def decisions(self, campaign: str) -> pd.DataFrame:
        """Every decision's audit record (model, hyperparameters, mean, std, acquisition, rank)."""
        with self.lock:
            self.launchpad  # noqa: B018
            return tables.decisions_frame(campaign)

    def trace(self, campaign: str) -> pd.DataFrame:
        """Finished evaluations in the order the agent asked for them, with the best so far."""
        return tables.trace_frame(self.summary(campaign))

    def jobs(self, campaign: str | None = None) -> list[jobs.JobRow]:
        """Pending and failed evaluations with their Firework and queue job (:class:`JobRow`)."""
        with self.lock:
            return jobs.job_rows(self.launchpad, campaign)

    def next_proposals(self, campaign: str, n: int = 3) -> pd.DataFrame:
        """The ``n`` compositions the agent would submit next, with acquisition values."""
        with self.lock:
            return predictions.next_proposals(self.launchpad, campaign, n)

    def predictions(self, campaign: str) -> pd.DataFrame:
        """The campaign's GP fitted on its finished E_b, predicted over its whole pool."""
        with self.lock:
            return predictions.pool_predictions(self.launchpad, campaign)

    # ------------------------------------------------------------------ barriers
    def barriers(self, **filters: Any) -> pd.DataFrame:
        """Finished barriers as a DataFrame, with the filters of ``tavbo barriers``
        (``campaign, engine, carrier, m, x, z, e_min, e_max, sort, descending, limit``)."""
        with self.lock:
            self.launchpad  # noqa: B018
            return tables.barriers_frame(**filters)

    def barrier_results(self, **filters: Any) -> list[BarrierResult]:
        """The same barriers as :class:`BarrierResult` objects (hops, image energies,
        relaxed structure, provenance)."""
        with self.lock:
            self.launchpad  # noqa: B018
            return tables.barrier_results(**filters)

    @staticmethod
    def dataset(data: str, **filters: Any) -> pd.DataFrame:
        """Barriers of a data set (``chgnet``, ``bvse`` or a file), as ``tavbo barriers --data``,
        with the same filters; needs no open store."""
        return tables.dataset_frame(data, **filters)

    @staticmethod
    def dataset_results(data: str, **filters: Any) -> list[BarrierResult]:
        """The same as :class:`BarrierResult` objects (exported files and packaged references)."""
        return tables.dataset_results(data, **filters)

    def composition(self, campaign: str, candidate_id: str, engine: str) -> dict[str, Any]:
        """Everything known about one evaluated composition (hops, path, provenance)."""
        with self.lock:
            self.launchpad  # noqa: B018
            return tables.composition_record(campaign, candidate_id, engine)
