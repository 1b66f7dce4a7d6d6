"""The ``my_launchpad.yaml`` of a MongoDB LaunchPad: validation and secret-free messages.

FireWorks itself ignores unknown keys and prints YAML errors with the offending line, which may
hold the password; here a malformed file is a one-line :class:`~workflows.errors.ConfigError`
that gives line and column, or the key, never a value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from workflows.errors import ConfigError

__all__ = [
    "LaunchpadConfig",
    "job_store_connection",
    "load_launchpad_config",
    "mask_uri",
    "redact",
]


class LaunchpadConfig(BaseModel):
    """The keys of a FireWorks ``my_launchpad.yaml`` (unknown keys are rejected: typos)."""

    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int | None = None
    name: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    authsource: str | None = None
    uri_mode: bool = False
    mongoclient_kwargs: dict[str, Any] = {}
    logdir: str | None = None
    strm_lvl: str | None = None
    user_indices: list[Any] = []
    wf_user_indices: list[Any] = []

    def launchpad_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``fireworks.LaunchPad`` (the password in clear)."""
        kwargs = self.model_dump(exclude={"password"})
        kwargs["password"] = self.password.get_secret_value() if self.password else None
        kwargs["mongoclient_kwargs"] = dict(self.mongoclient_kwargs)
        return kwargs

    def job_store_options(self) -> dict[str, Any]:
        """Connection keywords of maggma's ``MongoStore``/``GridFSStore`` that reach the server
        exactly as this LaunchPad does: URI or host/port, credentials, auth source and every
        ``mongoclient_kwargs`` entry (TLS files, replica set, timeouts). Holds the password."""
        opts: dict[str, Any] = {"mongoclient_kwargs": dict(self.mongoclient_kwargs)}
        if self.uri_mode:
            opts["uri"] = self.host
        else:
            opts.update(host=self.host, port=self.port or 27017)
            if self.username:
                opts["username"] = self.username
                opts["password"] = self.password.get_secret_value() if self.password else ""
            if self.authsource:
                opts["auth_source"] = self.authsource
        return opts

    def where(self) -> str:
        """Host description safe to print (credentials in a URI are masked)."""
        if self.uri_mode:
            return mask_uri(self.host)
        return f"{self.host}:{self.port or 27017}"

    def secrets(self) -> list[str]:
        """Strings that must never appear in a message."""
        out = [self.password.get_secret_value()] if self.password else []
        match = re.match(r"^[a-z+]+://([^@/]*)@", self.host)
        if match:
            out += [p for p in match.group(1).split(":")[1:] if p]
        for key, value in self.mongoclient_kwargs.items():
            if "pass" in key.lower() and isinstance(value, str):
                out.append(value)
        return [s for s in out if s]


def load_launchpad_config(path: str | Path) -> LaunchpadConfig:
    """Read and validate a ``my_launchpad.yaml``.

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, is not a mapping or has a wrong or unknown key.
        The message gives line and column for YAML errors and never echoes values.
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read LaunchPad file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(
            f"malformed LaunchPad file {path}: invalid YAML{where}: {problem}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"malformed LaunchPad file {path}: expected a mapping of keys (host, name, ...), "
            f"got {type(data).__name__}"
        )
    try:
        config = LaunchpadConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        allowed = ", ".join(LaunchpadConfig.model_fields)
        raise ConfigError(
            f"malformed LaunchPad file {path}: {problems} (allowed keys: {allowed})"
        ) from None
    if config.uri_mode and not config.name:
        raise ConfigError(f"malformed LaunchPad file {path}: uri_mode needs 'name' (database)")
    return config


def job_store_connection(launchpad_file: str | Path | None = None) -> dict[str, Any] | None:
    """Connection keywords of the job stores that compute nodes use: those of
    ``launchpad_file``, else of ``TAVBO_LAUNCHPAD_FILE``; None for the embedded LaunchPad."""
    if launchpad_file is None:
        from workflows.settings import WorkflowSettings

        launchpad_file = WorkflowSettings().launchpad_file
    if launchpad_file is None:
        return None
    return load_launchpad_config(launchpad_file).job_store_options()


def mask_uri(uri: str) -> str:
    return re.sub(r"^([a-z+]+://)[^@/]*@", r"\1***@", uri)


def redact(text: str, secrets: list[str]) -> str:
    text = re.sub(r"([a-z+]+://)[^@/\s]*@", r"\1***@", text)
    for secret in secrets:
        text = text.replace(secret, "***")
    return " ".join(text.split())
