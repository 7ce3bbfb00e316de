"""REST APIs: Bearer checks (expiry, revocation, scope, realm), Databricks error bodies, account
secrets and custom app integrations limits."""

from __future__ import annotations

import pytest

from .helpers import http, token_url

WORKSPACE_APIS = [
    "/api/2.0/preview/scim/v2/Me",
    "/api/2.0/clusters/list",
    "/api/2.1/clusters/list",
    "/api/2.0/sql/warehouses",
    "/api/2.0/preview/scim/v2/ServicePrincipals",
]


def account_apis(emu) -> list[str]:
    base = f"/api/2.0/accounts/{emu.account_id}"
    admin = emu.service_principal("emulator-admin-sp")
    return [
        f"{base}/scim/v2/Me",
        f"{base}/scim/v2/ServicePrincipals",
        f"{base}/servicePrincipals/{admin['id']}/credentials/secrets",
        f"{base}/oauth2/custom-app-integrations",
    ]


def m2m_token(emu, name="emulator-admin-sp", *, scope="all-apis", account=True) -> str:
    sp = emu.service_principal(name)
    with http() as c:
        response = c.post(
            token_url(emu, account=account),
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(sp["client_id"], sp["secret"]),
        )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def call(emu, path, token=None, method="GET", **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with http() as c:
        return c.request(method, emu.url + path, headers=headers, **kwargs)


def assert_databricks_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code and body["message"]


def test_valid_token_reaches_every_api(emulator):
    token = m2m_token(emulator)
    for path in WORKSPACE_APIS + account_apis(emulator):
        assert call(emulator, path, token).status_code == 200, path


def test_expired_token_gets_401_from_every_api(emulator):
    token = m2m_token(emulator)
    emulator.set_clock_offset(3601)
    for path in WORKSPACE_APIS + account_apis(emulator):
        assert_databricks_error(call(emulator, path, token), 401, "UNAUTHENTICATED")


def test_missing_and_forged_tokens_get_401(emulator):
    token = m2m_token(emulator)
    head, payload, sig = token.split(".")
    forged = f"{head}.{payload}.{sig[:-4]}AAAA"
    for bad in (None, "garbage", forged):
        assert_databricks_error(call(emulator, WORKSPACE_APIS[0], bad), 401, "UNAUTHENTICATED")
    with http() as c:
        basic = c.get(emulator.url + WORKSPACE_APIS[0], auth=("a", "b"))
    assert basic.status_code == 401


def test_revoked_subject_gets_401(emulator):
    token = m2m_token(emulator, "emulator-etl-sp")
    other = m2m_token(emulator)
    emulator.revoke(emulator.service_principal("emulator-etl-sp")["client_id"])
    assert_databricks_error(call(emulator, WORKSPACE_APIS[0], token), 401, "UNAUTHENTICATED")
    assert call(emulator, WORKSPACE_APIS[0], other).status_code == 200


def test_reset_forgets_issued_tokens(emulator):
    token = m2m_token(emulator)
    emulator.reset()
    assert call(emulator, WORKSPACE_APIS[0], token).status_code == 401


def test_sql_scope_allows_only_sql(emulator):
    token = m2m_token(emulator, scope="sql")
    assert call(emulator, "/api/2.0/sql/warehouses", token).status_code == 200
    assert_databricks_error(call(emulator, WORKSPACE_APIS[0], token), 403, "PERMISSION_DENIED")


def test_account_apis_need_account_token_and_admin(emulator):
    workspace_token = m2m_token(emulator, account=False)
    assert call(emulator, WORKSPACE_APIS[0], workspace_token).status_code == 200
    path = account_apis(emulator)[0]
    assert_databricks_error(call(emulator, path, workspace_token), 401, "UNAUTHENTICATED")
    non_admin = m2m_token(emulator, "emulator-etl-sp")
    assert_databricks_error(call(emulator, path, non_admin), 403, "PERMISSION_DENIED")


def test_unknown_path_is_databricks_shaped_404(emulator):
    assert_databricks_error(call(emulator, "/api/2.0/nope"), 404, "ENDPOINT_NOT_FOUND")


def secrets_path(emu, name="emulator-etl-sp"):
    sp = emu.service_principal(name)
    return f"/api/2.0/accounts/{emu.account_id}/servicePrincipals/{sp['id']}/credentials/secrets"


def test_secret_limits(emulator):
    token = m2m_token(emulator)
    path = secrets_path(emulator)
    too_long = call(emulator, path, token, "POST", json={"lifetime": f"{731 * 86400}s"})
    assert_databricks_error(too_long, 400, "INVALID_PARAMETER_VALUE")
    assert_databricks_error(
        call(emulator, path, token, "POST", json={"lifetime": "soon"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    created = [call(emulator, path, token, "POST", json={}) for _ in range(4)]  # seed has 1
    assert all(r.status_code == 200 and r.json()["secret"].startswith("emu-") for r in created)
    sixth = call(emulator, path, token, "POST", json={})
    assert_databricks_error(sixth, 400, "RESOURCE_LIMIT_EXCEEDED")
    listed = call(emulator, path, token).json()["secrets"]
    assert len(listed) == 5 and all("secret" not in s for s in listed)
    gone = call(emulator, f"{path}/{created[0].json()['id']}", token, "DELETE")
    assert gone.status_code == 200
    assert call(emulator, path, token, "POST", json={}).status_code == 200


def test_expired_secret_stops_working(emulator):
    token = m2m_token(emulator)
    created = call(emulator, secrets_path(emulator), token, "POST", json={"lifetime": "60s"}).json()
    sp = emulator.service_principal("emulator-etl-sp")
    emulator.set_clock_offset(61)
    with http() as c:
        response = c.post(
            token_url(emulator),
            data={"grant_type": "client_credentials"},
            auth=(sp["client_id"], created["secret"]),
        )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x"},
        {"name": "x", "redirect_urls": ["not a url"]},
        {"name": "x", "redirect_urls": ["http://a/cb"], "scopes": ["root"]},
        {
            "name": "x",
            "redirect_urls": ["http://a/cb"],
            "token_access_policy": {"access_token_ttl_in_minutes": 1},
        },
        {"name": "x", "redirect_urls": ["http://a/cb"], "token_access_policy": "long"},
    ],
)
def test_custom_app_validation(emulator, body):
    token = m2m_token(emulator)
    path = f"/api/2.0/accounts/{emulator.account_id}/oauth2/custom-app-integrations"
    assert_databricks_error(
        call(emulator, path, token, "POST", json=body), 400, "INVALID_PARAMETER_VALUE"
    )


def test_custom_app_not_json_and_missing(emulator):
    token = m2m_token(emulator)
    path = f"/api/2.0/accounts/{emulator.account_id}/oauth2/custom-app-integrations"
    bad = call(emulator, path, token, "POST", content=b"{nope")
    assert_databricks_error(bad, 400, "MALFORMED_REQUEST")
    assert_databricks_error(call(emulator, f"{path}/nope", token), 404, "RESOURCE_DOES_NOT_EXIST")


def test_scim_create_service_principal(emulator):
    token = m2m_token(emulator)
    path = "/api/2.0/preview/scim/v2/ServicePrincipals"
    created = call(emulator, path, token, "POST", json={"displayName": "new-sp"})
    assert created.status_code == 201 and created.json()["applicationId"]
    names = [r["displayName"] for r in call(emulator, path, token).json()["Resources"]]
    assert "new-sp" in names
    non_admin = m2m_token(emulator, "emulator-etl-sp")
    denied = call(emulator, path, non_admin, "POST", json={"displayName": "x"})
    assert_databricks_error(denied, 403, "PERMISSION_DENIED")


def test_token_minted_via_localhost_works_via_127(emulator):
    sp = emulator.service_principal("emulator-etl-sp")
    localhost = emulator.url.replace("127.0.0.1", "localhost")
    with http() as c:
        token = c.post(
            f"{localhost}/oidc/v1/token",
            data={"grant_type": "client_credentials"},
            auth=(sp["client_id"], sp["secret"]),
        ).json()["access_token"]
    assert call(emulator, WORKSPACE_APIS[0], token).status_code == 200
