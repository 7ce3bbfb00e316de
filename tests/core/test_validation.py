"""`core.validation`: every bound, every refusal, and the exact words a person reads.

The server endpoints are tested with hostile input elsewhere (`tests/server/test_fuzz_signed_in.py`,
`test_security.py`); here each rule is pinned at its edge, so that moving a bound by one, dropping
a check or changing a message fails a test (mutation testing found these rules only reached
through whole sign-ins).
"""

from __future__ import annotations

import json

import pytest

from jupyter_dbx_auth.core import validation
from jupyter_dbx_auth.core.errors import DbxAuthError
from jupyter_dbx_auth.core.validation import InvalidInput, client_id, encodable, json_object, text


def test_bounds_are_the_documented_ones() -> None:
    assert (validation.MAX_ID, validation.MAX_NAME, validation.MAX_SECRET, validation.MAX_PATH) == (
        64,
        200,
        512,
        2048,
    )
    assert issubclass(InvalidInput, DbxAuthError)


@pytest.mark.parametrize("absent", [None, ""])
def test_absent_is_none_unless_required(absent: object) -> None:
    assert text(absent, "label") is None
    with pytest.raises(InvalidInput) as info:
        text(absent, "label", required=True, example='"prod"')
    assert info.value.message == "`label` is required."
    assert info.value.hint == 'Send label as a string, e.g. "prod".'


def test_hint_without_example() -> None:
    with pytest.raises(InvalidInput) as info:
        text(None, "name", required=True)
    assert info.value.hint == "Send name as a string."


@pytest.mark.parametrize("value", [0, 1, True, ["a"], {"a": 1}, 1.5, b"bytes"])
def test_not_a_string(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        text(value, "next", example='"/lab"')
    assert info.value.message == "`next` must be a string."
    assert info.value.hint == 'Send next as a string, e.g. "/lab".'


def test_falsy_non_strings_are_refused_not_absent() -> None:
    # 0 and False are not "absent": only None and "" are.
    for value in (0, False, [], {}):
        with pytest.raises(InvalidInput, match="must be a string"):
            text(value, "f")


def test_length_bound_is_inclusive() -> None:
    assert text("x" * 10, "f", max_len=10) == "x" * 10
    with pytest.raises(InvalidInput) as info:
        text("x" * 11, "f", max_len=10)
    assert info.value.message == "`f` is too long (11 characters; at most 10)."
    assert info.value.hint == "Check f."
    assert text("y" * 200, "f") == "y" * 200  # the default bound is MAX_NAME
    with pytest.raises(InvalidInput, match="at most 200"):
        text("y" * 201, "f")


def test_lone_surrogate_is_refused_in_words() -> None:
    with pytest.raises(InvalidInput) as info:
        text("ab\ud800", "state")
    assert info.value.message == (
        "`state` holds characters that are not valid Unicode text (a lone surrogate)."
    )
    assert info.value.hint == "Check state; paste it again from its source."


@pytest.mark.parametrize("value", ["a\nb", "a\tb", "\x00", "x\x7f", "a\u2028b"])
def test_control_characters_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        text(value, "code")
    assert info.value.message == "`code` holds control characters (such as a newline or tab)."
    assert info.value.hint == "Check code; paste it again without line breaks."


@pytest.mark.parametrize("value", ["prod", "a b", "é-ü", "名前", "x" * 200, "/lab?x=1#y"])
def test_printable_text_passes_unchanged(value: str) -> None:
    assert text(value, "f") == value


def test_messages_never_repeat_the_value() -> None:
    secret = "s3cr3t-value\n"
    with pytest.raises(InvalidInput) as info:
        text(secret, "client_secret")
    assert "s3cr3t" not in info.value.message + (info.value.hint or "")


def test_encodable() -> None:
    assert encodable("plain")
    assert encodable("")
    assert not encodable("\udfff")


@pytest.mark.parametrize(
    "value", ["a" * 64, "00000000-0000-0000-0000-000000000000", "!", "~", "A-z_0.9"]
)
def test_client_id_accepts_vschar_without_slash(value: str) -> None:
    assert client_id(value) == value


@pytest.mark.parametrize("value", ["a b", "a/b", "é", "\x7e\x7f", "id\u00a0"])
def test_client_id_refuses_other_characters(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        client_id(value)
    # Control characters are caught by `text` first, in its own words.
    if value.isprintable():
        assert info.value.message == "`client_id` is not a valid application id."
        assert info.value.hint == (
            "Copy the service principal's application id (a UUID) from the account console."
        )


def test_client_id_bounds_and_field_name() -> None:
    with pytest.raises(InvalidInput) as info:
        client_id("a" * 65, "application_id")
    assert info.value.message == "`application_id` is too long (65 characters; at most 64)."
    assert client_id(None) is None
    assert client_id("") is None
    with pytest.raises(InvalidInput) as info:
        client_id(None, required=True)
    assert info.value.message == "`client_id` is required."
    assert info.value.hint == "Send client_id as a string, e.g. a UUID."
    with pytest.raises(InvalidInput, match="not a valid application id"):
        client_id(" ", "application_id")


@pytest.mark.parametrize("raw", [b"", None])
def test_empty_body_is_an_empty_object(raw: bytes | None) -> None:
    assert json_object(raw) == {}  # type: ignore[arg-type]


def test_json_object_round_trip() -> None:
    assert json_object(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize("raw", [b"{", b"not json", b"\xff\xfe{}", b'{"a": 1,}'])
def test_invalid_json(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        json_object(raw)
    assert info.value.message == "The request body is not valid JSON."
    assert info.value.hint == "Send a JSON object."
    assert info.value.__suppress_context__  # `from None`: no parser traceback chained


def test_deep_json_is_refused_not_a_crash() -> None:
    raw = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(InvalidInput) as info:
        json_object(raw)
    assert info.value.message == "The request body is nested too deeply."
    assert info.value.hint == "Send a flat JSON object."


@pytest.mark.parametrize("body", [[], [1], "s", 1, None, True])
def test_json_must_be_an_object(body: object) -> None:
    with pytest.raises(InvalidInput) as info:
        json_object(json.dumps(body).encode())
    assert info.value.message == "The request body must be a JSON object."
    assert info.value.hint == "Send {...}."
