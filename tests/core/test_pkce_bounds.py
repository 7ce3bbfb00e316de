"""PKCE verifier length bounds (RFC 7636 4.1: 43 to 128 characters), exactly at the edges.

Added after mutation testing (docs/testing.md): moving either bound by one, or changing the
message, went unnoticed.
"""

from __future__ import annotations

import pytest

from jupyter_dbx_auth.core.oauth import pkce

MESSAGE = "a PKCE verifier has 43 to 128 characters"


@pytest.mark.parametrize("length", [43, 44, 127, 128])
def test_lengths_inside_the_bounds_are_drawn(length):
    raw = pkce.new_verifier(length).reveal()
    assert len(raw) == length
    assert set(raw) <= set(pkce._UNRESERVED)


@pytest.mark.parametrize("length", [0, 42, 129, 1000])
def test_lengths_outside_the_bounds_are_refused_in_words(length):
    with pytest.raises(ValueError) as err:
        pkce.new_verifier(length)
    assert str(err.value) == MESSAGE
