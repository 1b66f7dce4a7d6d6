"""The ``tavbo`` Typer application: one error handler for every command.

A :class:`~workflows.errors.TavboError` becomes one line on stderr, ``tavbo: error: <message>``;
bad input (unknown ID, engine or malformed config: a ``ValueError``/``KeyError`` subclass) exits 2
like a usage error, a failure while running exits 1. Typer's own usage errors (bad option value,
unknown command or option) are printed the same way, on one line, and exit 2. ``--traceback``
(or ``TAVBO_TRACEBACK=1``) re-raises for debugging.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import typer

from workflows.errors import TavboError

__all__ = ["TavboTyper", "exit_code_for"]


def exit_code_for(exc: TavboError) -> int:
    """2 for bad input named by the user, 1 for failures while running."""
    return 2 if isinstance(exc, ValueError | KeyError) else 1


class TavboTyper(typer.Typer):
    """A Typer app that prints tavbo errors as one line and exits non-zero."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the app; translate TavboError into ``tavbo: error: ...``."""
        want_tb = "--traceback" in sys.argv or os.environ.get("TAVBO_TRACEBACK") == "1"
        if "--traceback" in sys.argv:
            sys.argv.remove("--traceback")
        try:
            return super().__call__(*args, standalone_mode=False, **kwargs)
        except TavboError as exc:
            if want_tb:
                raise
            message = " ".join(str(exc).split())  # one line, whatever the message held
            typer.echo(f"tavbo: error: {message}", err=True)
            sys.exit(exit_code_for(exc))
        except KeyboardInterrupt:
            typer.echo("tavbo: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # click's usage errors and aborts (typer vendors its own click)
            name = type(exc).__name__
            code = getattr(exc, "exit_code", None)
            if name == "NoArgsIsHelpError" and callable(getattr(exc, "show", None)):
                exc.show()  # type: ignore[attr-defined]  # the help text itself
                sys.exit(code or 2)
            if callable(getattr(exc, "format_message", None)) and code is not None:
                message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
                command = getattr(getattr(exc, "ctx", None), "command_path", "tavbo")
                typer.echo(f"tavbo: error: {message} (see {command} --help)", err=True)
                sys.exit(code)
            if name == "Abort":
                sys.exit(1)
            if name == "Exit":
                sys.exit(code or 0)
            raise


def setup_logging(verbose: int) -> None:
    """Log to stderr once; -v INFO, -vv DEBUG; the library itself adds no handlers."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # FireWorks and jobflow put DEBUG/INFO on their own loggers, which propagate to the root
    # handler: filter at the handler so only what the user asked for is shown.
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
