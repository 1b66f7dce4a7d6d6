#!/usr/bin/env bash
# Headless browser for the dashboard's browser tests (tests/bo_agent/dashboard/test_browser.py):
# Debian's chromium and its matching chromedriver, from apt (selenium then drives them; nothing
# downloads a browser of its own). Idempotent: does nothing when both are already installed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "install_browser: $(chromium --version 2>/dev/null || echo chromium) already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
echo "install_browser: installed $(chromium --version 2>/dev/null || echo chromium)"
