"""tavbo's FireWorks queue adapter: FireWorks' ``CommonAdapter``, found by its full import path.

FireWorks finds the class of a serialized object by its ``_fw_name``. ``CommonAdapter`` has the
short name ``"CommonAdapter"``, which FireWorks resolves by importing every module under
``USER_PACKAGES`` (``fireworks.user_objects``), FireWorks' own test modules included; those are
marked ``@pytest.mark.mongodb``, and under pytest's ``--strict-markers`` importing them fails.
The queue launcher reloads its adapter from ``to_dict()`` on every submission, so every queue
submission took that path. ``{{module.Class}}`` names are imported directly: nothing else is loaded.

It also keeps what the scheduler said when it refused a job (``sbatch``/``qsub`` stderr):
FireWorks only logs it, and the agent needs it to fail an evaluation with the scheduler's reason
(:attr:`TavboQueueAdapter.last_error`).
"""

from __future__ import annotations

import os
import subprocess
from typing import ClassVar

from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

__all__ = ["FW_NAME", "TavboQueueAdapter"]

#: The ``_fw_name`` that ``my_qadapter.yaml`` files carry (``tavbo init-config`` writes it).
FW_NAME = "{{workflows.hpc.queue_adapter.TavboQueueAdapter}}"


class TavboQueueAdapter(CommonAdapter):
    """FireWorks' CommonAdapter (Slurm, PBS, ...) that FireWorks loads by its import path."""

    _fw_name = FW_NAME
    #: The scheduler's message of the last refused submission in this process (None: accepted).
    #: A class attribute: FireWorks submits with a copy of the adapter, not the caller's.
    last_error: ClassVar[str | None] = None

    def submit_to_queue(self, script_file: str) -> str | None:
        """Submit ``script_file``; the job id, or None with :attr:`last_error` set."""
        if not os.path.exists(script_file):
            raise ValueError(f"Cannot find script file located at: {script_file}")
        cmd = [self.q_commands[self.q_type]["submit_cmd"], script_file]
        TavboQueueAdapter.last_error = None
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            TavboQueueAdapter.last_error = f"`{cmd[0]}` could not run: {exc}"
            return None
        if out.returncode != 0:
            text = " ".join((out.stderr or out.stdout).split())
            TavboQueueAdapter.last_error = text or f"`{cmd[0]}` exited with {out.returncode}"
            return None
        try:
            return self._parse_jobid(out.stdout)
        except Exception:  # the job was submitted but its id is unreadable
            TavboQueueAdapter.last_error = f"cannot read a job id in {out.stdout.strip()!r}"
            return None
