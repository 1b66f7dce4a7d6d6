"""Print the README's Quick start commands (the bash code blocks of that section), one per line.

CI runs exactly these, so a README command that fails on a fresh machine fails CI.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

text = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md").read_text()
section = re.search(r"^## Quick start\n(.*?)^## ", text, flags=re.M | re.S)
if section is None:
    sys.exit("README.md has no '## Quick start' section")
blocks = re.findall(r"```bash\n(.*?)```", section.group(1), flags=re.S)
commands = [line for b in blocks for line in b.strip().splitlines() if line.strip()]
if len(commands) != 2:
    sys.exit(f"the Quick start must hold exactly two commands, found {len(commands)}")
sys.stdout.write("\n".join(commands) + "\n")
