"""Which addresses need a token, and how long it must be (bo_agent.dashboard.security)."""

from __future__ import annotations

import pytest

from bo_agent.dashboard.security import check_binding, is_loopback
from workflows.errors import ConfigError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_addresses_are_served_without_a_token(host):
    assert is_loopback(host)
    check_binding(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "login01.cluster"])
def test_any_other_address_needs_a_token(host):
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match=f"serving on {host} needs an access token"):
        check_binding(host, None)
    check_binding(host, "a" * 16)


def test_a_short_token_is_refused_even_on_loopback():
    with pytest.raises(ConfigError, match=r"too short \(15 characters\)"):
        check_binding("127.0.0.1", "a" * 15)
