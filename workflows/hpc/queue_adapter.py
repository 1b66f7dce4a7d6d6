"""tavbo's FireWorks queue adapter: FireWorks' ``CommonAdapter``, found by its full import path.

FireWorks finds the class of a serialized object by its ``_fw_name``. ``CommonAdapter`` has the
short name ``"CommonAdapter"``, which FireWorks resolves by importing every module under
``USER_PACKAGES`` (``fireworks.user_objects``), FireWorks' own test modules included; those are
marked ``@pytest.mark.mongodb``, and under pytest's ``--strict-markers`` importing them fails.
The queue launcher reloads its adapter from ``to_dict()`` on every submission, so every queue
submission took that path. ``{{module.Class}}`` names are imported directly: nothing else is loaded.
"""

from __future__ import annotations

from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

__all__ = ["FW_NAME", "TavboQueueAdapter"]

#: The ``_fw_name`` that ``my_qadapter.yaml`` files carry (``tavbo init-config`` writes it).
FW_NAME = "{{workflows.hpc.queue_adapter.TavboQueueAdapter}}"


class TavboQueueAdapter(CommonAdapter):
    """FireWorks' CommonAdapter (Slurm, PBS, ...) that FireWorks loads by its import path."""

    _fw_name = FW_NAME
