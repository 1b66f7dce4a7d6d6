"""Where tavbo hooks into FireWorks' ``LaunchPad``: checkpointed methods and the client class.

FireWorks' embedded (mongomock) mode writes its store only at interpreter exit, and its
``LaunchPad`` builds its own database client.
:class:`workflows.launchpad.tavbo_launchpad.TavboLaunchPad` needs neither, so two hooks live here:

* :func:`install_checkpoints` wraps every ``LaunchPad`` method that changes FireWorks state
  (:data:`CHECKPOINTED_METHODS`) so that the store is checkpointed when the outermost call
  returns;
* :func:`client_factory` swaps the client class that ``fireworks.core.launchpad`` instantiates,
  so a LaunchPad is built over a client tavbo made (the shared mongomock client of the embedded
  store) and FireWorks' ``MONGOMOCK_SERVERSTORE_FILE`` switch is not needed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fireworks import LaunchPad

__all__ = ["CHECKPOINTED_METHODS", "client_factory", "install_checkpoints"]

_LaunchPadT = TypeVar("_LaunchPadT", bound=type[LaunchPad])

#: ``LaunchPad`` methods that change FireWorks state: the store is checkpointed after each.
CHECKPOINTED_METHODS = (
    "add_wf",
    "append_wf",
    "archive_wf",
    "bulk_add_wfs",
    "cancel_reservation",
    "change_launch_dir",
    "checkout_fw",
    "complete_launch",
    "defuse_fw",
    "defuse_wf",
    "delete_fws",
    "delete_wf",
    "detect_lostruns",
    "detect_unreserved",
    "maintain",
    "mark_fizzled",
    "pause_fw",
    "pause_wf",
    "recover_offline",
    "reignite_fw",
    "reignite_wf",
    "reserve_fw",
    "rerun_fw",
    "resume_fw",
    "set_priority",
    "update_spec",
)


def _checkpointed(cls: type[LaunchPad], name: str) -> Callable[..., Any]:
    """``cls.<name>`` (FireWorks' or a mixin's override), then ``self.checkpoint()`` once the
    outermost such call returns."""
    base = getattr(cls, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            return base(self, *args, **kwargs)
        finally:
            self._depth -= 1
            if self._depth == 0 and not getattr(self, "_closed", True):
                self.checkpoint()

    method.__name__ = name
    method.__qualname__ = f"{cls.__qualname__}.{name}"
    method.__doc__ = base.__doc__
    return method


def install_checkpoints(cls: _LaunchPadT) -> _LaunchPadT:
    """Class decorator: :data:`CHECKPOINTED_METHODS` of ``cls`` checkpoint when they return.

    ``cls`` subclasses FireWorks' ``LaunchPad`` and has ``checkpoint()`` and ``_closed``; a
    closed LaunchPad (or one whose set-up has not finished) is not checkpointed.
    """
    for name in CHECKPOINTED_METHODS:
        setattr(cls, name, _checkpointed(cls, name))
    return cls


@contextlib.contextmanager
def client_factory(factory: Callable[..., Any]) -> Iterator[Callable[[], None]]:
    """Swap the client class FireWorks' LaunchPad instantiates; yield a restore function."""
    import fireworks.core.launchpad as fw_launchpad

    previous = fw_launchpad.MongoClient
    fw_launchpad.MongoClient = factory
    restored = False

    def restore() -> None:
        nonlocal restored
        if not restored:
            fw_launchpad.MongoClient = previous
            restored = True

    try:
        yield restore
    except BaseException:
        restore()
        raise
