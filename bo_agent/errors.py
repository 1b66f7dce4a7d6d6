"""Errors raised by the BO agent; every one is a :class:`~workflows.errors.TavboError`."""

from __future__ import annotations

from workflows.errors import TavboError

__all__ = ["AgentError", "DescriptorError"]


class AgentError(TavboError):
    """Root of every error the BO agent raises on purpose."""


class DescriptorError(AgentError, ValueError):
    """A composition cannot be turned into a descriptor row (an element lacks data, say)."""
