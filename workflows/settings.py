"""Settings of the FireWorks / database plumbing, from ``TAVBO_*`` environment variables.

Two LaunchPad modes share one code path (see :mod:`workflows.launchpad.opening`):

* **MongoDB**: ``TAVBO_LAUNCHPAD_FILE`` names a ``my_launchpad.yaml``-style file (host or URI,
  database name, credentials, ``mongoclient_kwargs`` for TLS and timeouts). Many processes and
  remote workers may use it at once.
* **Embedded** (default when no LaunchPad file is set): FireWorks' mongomock mode, persisted to
  one SQLite file. Only one process at a time may own it (a lock file enforces this). Its path
  is, in order: ``TAVBO_EMBEDDED_STORE``, else ``MONGOMOCK_SERVERSTORE_FILE`` (FireWorks' own
  variable, which the test suite sets), else ``./.tavbo/launchpad.sqlite`` in the current
  directory: a campaign's store lives with the project it belongs to, like ``.git`` (the
  repository's ``.gitignore`` lists ``/.tavbo/``). A path ending in ``.json`` (the format of
  tavbo before the SQLite store) names the ``.sqlite`` file next to it, into which that JSON
  store is imported once (the JSON file stays, as a backup).

Examples
--------
>>> from workflows.settings import WorkflowSettings
>>> WorkflowSettings(embedded_store="/tmp/x/launchpad.json").store_path.name
'launchpad.sqlite'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_STORE", "WorkflowSettings"]

#: Default embedded store, relative to the current directory when a command runs.
DEFAULT_STORE = Path(".tavbo") / "launchpad.sqlite"


class WorkflowSettings(BaseSettings):
    """Where the LaunchPad, the job store and the results live; every field has a default."""

    model_config = SettingsConfigDict(env_prefix="TAVBO_", extra="forbid")

    launchpad_file: Path | None = Field(
        None,
        description=(
            "my_launchpad.yaml of a real MongoDB LaunchPad; unset means the embedded store "
            "(TAVBO_LAUNCHPAD_FILE)"
        ),
    )
    embedded_store: Path | None = Field(
        None,
        description=(
            "SQLite file of the embedded (mongomock) LaunchPad; default MONGOMOCK_SERVERSTORE_FILE "
            "if set, else ./.tavbo/launchpad.sqlite; a .json path names the .sqlite file next "
            "to it (TAVBO_EMBEDDED_STORE)"
        ),
    )
    db_name: str = Field("tavbo", description="Database name of the embedded LaunchPad")
    server_timeout_ms: int = Field(
        3000,
        gt=0,
        description=(
            "serverSelectionTimeoutMS for MongoDB, ms: how long an unreachable host is tried "
            "before DatabaseError (a value in mongoclient_kwargs wins)"
        ),
    )
    outputs_collection: str = Field(
        "jobflow_outputs", description="Collection of the jobflow JobStore's documents"
    )
    data_collection: str = Field(
        "jobflow_data",
        description="GridFS bucket of the JobStore's 'data' additional store (large outputs)",
    )
    run_dir: Path = Field(
        Path("tavbo-runs"),
        description="Directory under which in-process rockets create their launcher_* dirs",
    )
    neb_checkpoint_dir: Path | None = Field(
        None,
        description=(
            "Where running NEBs save their band so that a re-queued NEB resumes; default "
            "<run_dir>/neb-checkpoints; give a shared absolute path on a cluster "
            "(TAVBO_NEB_CHECKPOINT_DIR)"
        ),
    )
    resources_file: Path | None = Field(
        None,
        description=(
            "resources.yaml (tavbo init-config) whose per-category queue requests every "
            "submitted workflow gets when no resources are given (TAVBO_RESOURCES_FILE)"
        ),
    )
    fireworks_log_level: str = Field(
        "WARNING", description="Stream log level of FireWorks' own loggers (they print to stdout)"
    )
    lostrun_expiration: float = Field(
        4 * 3600.0,
        gt=0,
        description=(
            "MongoDB: seconds without a ping after which a RUNNING firework is re-queued at "
            "open as a lost run (FireWorks' RUN_EXPIRATION_SECS; TAVBO_LOSTRUN_EXPIRATION)"
        ),
    )
    store_sync: Literal["normal", "full"] = Field(
        "normal",
        description=(
            "Embedded store: normal (a commit survives any kill of the process; a power cut may "
            "roll back the last checkpoints) or full (fsync per checkpoint; TAVBO_STORE_SYNC)"
        ),
    )
    handle_signals: bool = Field(
        True,
        description=(
            "Embedded owner: on SIGINT/SIGTERM checkpoint, then die by the signal; turn off "
            "in notebooks (TAVBO_HANDLE_SIGNALS=false)"
        ),
    )

    @property
    def neb_checkpoints(self) -> Path:
        """Directory of the NEB checkpoints (absolute, resolved where the job starts)."""
        return (self.neb_checkpoint_dir or self.run_dir / "neb-checkpoints").resolve()

    @property
    def store_path(self) -> Path:
        """Absolute path of the embedded store file (resolved against the current directory);
        a configured ``.json`` path names the ``.sqlite`` file next to it."""
        path = self._configured_store()
        return path.with_suffix(".sqlite") if path.suffix == ".json" else path

    @property
    def legacy_store_path(self) -> Path:
        """The JSON store of tavbo before the SQLite store, imported once if it exists."""
        path = self._configured_store()
        return path if path.suffix == ".json" else path.with_suffix(".json")

    def _configured_store(self) -> Path:
        path = self.embedded_store
        if path is None:
            env = os.environ.get("MONGOMOCK_SERVERSTORE_FILE")
            path = Path(env) if env else DEFAULT_STORE
        return path.expanduser().resolve()

    @property
    def mode(self) -> str:
        """``"mongodb"`` when a LaunchPad file is set, else ``"embedded"``."""
        return "mongodb" if self.launchpad_file else "embedded"
