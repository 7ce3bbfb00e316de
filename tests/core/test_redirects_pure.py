"""The callback URL and `public_url` rules (`core.service.redirects`) as pure functions: every
branch, each refusal in its exact words. The same rules through a real server, under three base
URLs: tests/server/test_base_urls.py."""

from __future__ import annotations

import pytest

from jupyter_dbx_auth.core.errors import BadRequest, ConfigError
from jupyter_dbx_auth.core.service.redirects import (
    DOCS_URL,
    callback_url,
    default_next,
    normalize_public_url,
    safe_next,
)

SHAPE_HINT = (
    "Give the address browsers use for this server, e.g. https://jupyter.example.com"
    " (the server's base_url is added to it)."
)


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        (None, None),
        ("", None),
        ("https://jupyter.example.com", "https://jupyter.example.com"),
        ("https://jupyter.example.com/", "https://jupyter.example.com"),
        ("  http://10.0.0.5:8888  ", "http://10.0.0.5:8888"),
    ],
)
def test_public_urls_accepted(given: str | None, normal: str | None) -> None:
    assert normalize_public_url(given) == normal


@pytest.mark.parametrize(
    "given",
    [
        "ftp://jupyter.example.com",
        "jupyter.example.com",
        "https://",
        "https://jupyter.example.com/?x=1",
        "https://jupyter.example.com/#top",
    ],
)
def test_public_urls_of_the_wrong_shape(given: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_public_url(given)
    assert info.value.message == (
        f"c.DatabricksAuth.public_url must be http(s)://host[:port], not {given!r}."
    )
    assert info.value.hint == SHAPE_HINT


def test_a_public_url_with_a_path() -> None:
    with pytest.raises(ConfigError) as info:
        normalize_public_url("https://hub.example.com/user/alice/")
    assert info.value.message == (
        "c.DatabricksAuth.public_url takes no path: the server's base_url is added to it."
    )
    assert info.value.hint == "Use https://hub.example.com."


def callback(**overrides: object) -> str:
    given: dict = {
        "redirect_url": None,
        "public_url": None,
        "protocol": "http",
        "host": "localhost:8888",
        "base_url": "/user/alice/",
    }
    given.update(overrides)
    return callback_url(**given)


def test_the_callback_url_in_order_of_precedence() -> None:
    hub = "https://hub.example.com/services/dbx-auth/callback"
    public = "https://jupyter.example.com"
    assert callback(redirect_url=hub, public_url=public, public_app=True) == hub
    assert callback(public_url=public, public_app=True) == "http://localhost:8020"
    assert callback(public_url=public) == "https://jupyter.example.com/user/alice/dbx-auth/callback"
    assert callback() == "http://localhost:8888/user/alice/dbx-auth/callback"
    assert callback(protocol="https", host="[::1]:9999", base_url="/") == (
        "https://[::1]:9999/dbx-auth/callback"
    )


def test_a_callback_for_a_non_loopback_name_is_refused_in_words() -> None:
    with pytest.raises(BadRequest) as info:
        callback(host="jupyter.example.com")
    assert info.value.message == (
        "This server does not know its public address, and the browser reached it by a "
        "non-loopback name, which is not trusted for the sign-in's callback URL."
    )
    assert info.value.hint == (
        "Set c.DatabricksAuth.public_url to the address browsers use (e.g. "
        "https://jupyter.example.com) and register {public_url}/user/alice/dbx-auth/callback "
        f"with your OAuth app; see {DOCS_URL}."
    )


def test_the_default_next_page_is_lab_under_the_base_url() -> None:
    assert default_next("/user/alice/") == "/user/alice/lab"


@pytest.mark.parametrize(
    ("candidate", "base_url"),
    [
        ("/%2F%2Fevil.example/x", "/"),  # "//evil.example/x" once decoded: another origin
        ("/%2f%2fevil.example", "/"),
        ("/user/alice/%5Cevil.example", "/user/alice/"),  # a backslash once decoded
        ("/user/alice/../bob/lab", "/user/alice/"),  # climbs to another user's server
        ("/user/alice/%2E%2E/bob/lab", "/user/alice/"),
        ("/user/alice/lab/..", "/user/alice/"),
        ("/user/alice/./lab", "/user/alice/"),
        ("/user/bob/lab", "/user/alice/"),
        ("https://evil.example/user/alice/", "/user/alice/"),
        ("//evil.example/user/alice/", "/user/alice/"),
    ],
)
def test_next_pages_refused(candidate: str, base_url: str) -> None:
    assert safe_next(candidate, base_url) is None


@pytest.mark.parametrize(
    ("candidate", "base_url"),
    [
        ("/lab", "/"),
        ("/user/alice/lab/tree/a..b/notebook.ipynb", "/user/alice/"),  # ".." inside a name
        ("/user/alice/lab?reset", "/user/alice/"),
        ("/a%40b/lab/tree/x%20y.ipynb", "/a%40b/"),
    ],
)
def test_next_pages_kept(candidate: str, base_url: str) -> None:
    assert safe_next(candidate, base_url) == candidate
