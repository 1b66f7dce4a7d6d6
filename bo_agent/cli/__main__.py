"""``python -m bo_agent.cli`` runs the ``tavbo`` command."""

from __future__ import annotations

import sys

from bo_agent.cli.main import app

sys.exit(app())
