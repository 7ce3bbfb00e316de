"""Input that used to end in a 500 (issue 9, finding 5) is a 400 with a message and a hint."""

from __future__ import annotations

import json

import pytest
from server_helpers import ETL_SP

DEEP = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"next": ' + b"[" * 5000 + b"]" * 5000 + b"}"


def _assert_400(r, *, forbidden: tuple[str, ...] = ()) -> dict:
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert body["message"] and body["hint"], body
    assert "Traceback" not in r.text
    for text in forbidden:
        assert text not in r.text
    return body


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize(
    "path", ["dbx-auth/api/connections/ws/login", "dbx-auth/api/service-principals"]
)
async def test_deeply_nested_json_is_a_400(browser, kernel_client, path, raw):
    _assert_400(await _post(browser, path, raw))
    _assert_400(await _post(kernel_client, path, raw))


async def test_a_lone_surrogate_in_next_is_a_400(browser, kernel_client):
    raw = json.dumps({"next": "/a%40b/lab/\ud800"}).encode()  # valid JSON: "\\ud800"
    for client in (browser, kernel_client):
        body = _assert_400(await _post(client, "dbx-auth/api/connections/ws/login", raw))
        assert "next" in body["message"]


async def test_control_characters_and_overlong_next_are_a_400(browser):
    for value in ("/a%40b/lab\x00", "/a%40b/" + "x" * 5000):
        raw = json.dumps({"next": value}).encode()
        _assert_400(await _post(browser, "dbx-auth/api/connections/ws/login", raw))


async def test_a_lone_surrogate_in_a_secret_is_a_400_that_does_not_echo_it(
    browser, kernel_client, emulator
):
    sp = emulator.service_principal(ETL_SP)
    secret = sp["secret"] + "\ud800"
    raw = json.dumps({"connection": "etl", "client_id": sp["client_id"], "client_secret": secret})
    for client in (browser, kernel_client):
        r = await _post(client, "dbx-auth/api/service-principals", raw.encode())
        body = _assert_400(r, forbidden=(sp["secret"],))
        assert "client_secret" in body["message"]


@pytest.mark.parametrize("field", ["client_id", "label", "connection"])
async def test_a_lone_surrogate_elsewhere_in_the_body_is_a_400(browser, emulator, field):
    sp = emulator.service_principal(ETL_SP)
    body = {"connection": "etl", "client_id": sp["client_id"], "client_secret": sp["secret"]}
    body[field] = "x\udfff"
    r = await _post(browser, "dbx-auth/api/service-principals", json.dumps(body).encode())
    assert field in _assert_400(r, forbidden=(sp["secret"],))["message"]


async def test_an_overlong_client_id_is_a_400_without_the_store_path(
    browser, kernel_client, tmp_path
):
    for client_id in ("A" * 300, "a" * 2000, "\u00e9" * 100):
        r = await browser.delete(
            "dbx-auth/api/service-principals", {"connection": "etl", "client_id": client_id}
        )
        _assert_400(r, forbidden=(str(tmp_path), "File name too long"))
        r = await kernel_client.get(
            "dbx-auth/api/token", params={"connection": "ws", "client_id": client_id}
        )
        _assert_400(r, forbidden=(str(tmp_path), "File name too long"))
        r = await kernel_client.get(
            "dbx-auth/api/service-principals", params={"connection": "etl" * 200}
        )
        _assert_400(r, forbidden=(str(tmp_path),))


def test_the_file_store_refuses_unstorable_names_without_naming_its_path(tmp_path):
    from cryptography.fernet import Fernet

    from jupyter_dbx_auth.core.errors import StoreError
    from jupyter_dbx_auth.core.store.encrypted_file import EncryptedFileStore

    store = EncryptedFileStore(tmp_path / "store", Fernet.generate_key().decode())
    for key in ("ws/" + "A" * 200, "ws/\ud800"):
        for call in (lambda k=key: store.get("sp", k), lambda k=key: store.delete("sp", k)):
            with pytest.raises(StoreError) as err:
                call()
            assert str(tmp_path) not in str(err.value)


async def _post(client, path: str, raw: bytes):
    if hasattr(client, "xsrf"):  # the cookie-jar browser
        return await client.http.post(client.server_url + path, content=raw, headers=client.xsrf())
    return await client.post(path, content=raw)
