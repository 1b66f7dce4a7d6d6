"""Errors raised by the BO agent; every one is a :class:`~workflows.errors.TavboError`."""

from __future__ import annotations

from workflows.errors import TavboError

__all__ = ["AgentError", "DescriptorError", "NoCandidatesError"]


class AgentError(TavboError):
    """Root of every error the BO agent raises on purpose."""


class DescriptorError(AgentError, ValueError):
    """A composition cannot be turned into a descriptor row (an element lacks data, say)."""


class NoCandidatesError(AgentError, LookupError):
    """No candidate is left to propose: the pool is observed, pending or failed throughout."""
