"""One exception tree for tavbo; the CLI prints any :class:`TavboError` as one line."""

from __future__ import annotations

__all__ = [
    "CalculationError",
    "CompositionError",
    "ConfigError",
    "DatabaseError",
    "LockError",
    "SpaceFileError",
    "StructureError",
    "SubmissionError",
    "TavboError",
    "TavboWarning",
    "UnknownCompositionError",
]


class TavboError(Exception):
    """Root of every error tavbo raises on purpose."""


class TavboWarning(UserWarning):
    """A recoverable problem that tavbo worked around (for example a batch that shrank)."""


class ConfigError(TavboError, ValueError):
    """A configuration file or option is malformed or names something unknown (usage error)."""


class SpaceFileError(ConfigError):
    """A composition-space file is malformed or holds an entry that breaks a rule."""


class CompositionError(TavboError, ValueError):
    """A composition is invalid (for example not charge balanced)."""


class UnknownCompositionError(CompositionError, KeyError):
    """A composition ID is not in the space."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StructureError(TavboError):
    """A generated or relaxed structure fails a physical sanity check."""


class CalculationError(TavboError, RuntimeError):
    """A barrier calculation failed (crashed engine, unconverged NEB, missing output)."""


class DatabaseError(TavboError, ConnectionError):
    """The LaunchPad database cannot be reached or used."""


class LockError(TavboError):
    """Another process already owns the embedded store or the campaign lease."""


class SubmissionError(TavboError):
    """A workflow cannot be submitted (duplicate, missing POTCARs, bad engine settings)."""
