"""The paste path's parser: only an answer to the redirect URI we sent becomes a code."""

from __future__ import annotations

import pytest

from jupyter_dbx_auth.core.oauth.authorization_response import (
    PastedAddressRejected,
    parse_pasted_address,
)

REDIRECT = "http://localhost:8020"


@pytest.mark.parametrize(
    "pasted",
    [
        "http://localhost:8020/?code=C1&state=S1",
        "http://localhost:8020?code=C1&state=S1",
        "  http://LOCALHOST:8020/?state=S1&code=C1\n",
    ],
)
def test_a_real_answer_gives_code_and_state(pasted: str) -> None:
    response = parse_pasted_address(pasted, REDIRECT)
    assert (response.code, response.state, response.error) == ("C1", "S1", None)


def test_a_declined_sign_in_gives_the_error() -> None:
    response = parse_pasted_address(
        "http://localhost:8020/?error=access_denied&error_description=no&state=S1", REDIRECT
    )
    assert (response.code, response.error, response.error_description) == (
        None,
        "access_denied",
        "no",
    )


@pytest.mark.parametrize(
    ("pasted", "words"),
    [
        ("", "No address"),
        (None, "No address"),
        ("http://localhost:8021/?code=C&state=S", "does not start with"),
        ("http://127.0.0.1:8020/?code=C&state=S", "does not start with"),
        ("https://localhost:8020/?code=C&state=S", "does not start with"),
        ("http://localhost:8020/other?code=C&state=S", "does not start with"),
        ("http://evil.example/?code=C&state=S", "does not start with"),
        ("http://localhost:8020/?code=C", "no state"),
        ("http://localhost:8020/?state=S", "neither a code nor an error"),
        ("http://localhost:8020/?code=C&code=D&state=S", "repeats"),
        ("http://localhost:8020/?code=C&error=x&state=S", "both"),
        ("http://localhost:8020/?code=C\n&state=S", "control characters"),
        ("http://localhost:port/?code=C&state=S", "not a valid address"),
        ("http://localhost:8020/?code=" + "C" * 9000 + "&state=S", "too long"),
    ],
)
def test_anything_else_is_refused_in_words(pasted: object, words: str) -> None:
    with pytest.raises(PastedAddressRejected) as caught:
        parse_pasted_address(pasted, REDIRECT)
    assert words in caught.value.message
    assert "http://localhost:8020/?code=" in caught.value.hint or "Finish" in caught.value.hint


def test_a_custom_redirect_is_matched_exactly() -> None:
    redirect = "https://jupyter.example.com/user/alice/dbx-auth/callback"
    ok = parse_pasted_address(redirect + "?code=C&state=S", redirect)
    assert ok.code == "C"
    with pytest.raises(PastedAddressRejected):
        parse_pasted_address(
            "https://jupyter.example.com/user/bob/dbx-auth/callback?code=C&state=S", redirect
        )
