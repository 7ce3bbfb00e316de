"""docs/hub/jupyterhub_config.py is a working JupyterHub configuration, in line with the service."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from harness import SERVICE
from traitlets.config import Config

from jupyter_dbx_auth.hub.app import DatabricksAuthHub

DOCS = Path(__file__).resolve().parents[2] / "docs" / "hub"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("JUPYTER_DBX_AUTH_CRYPT_KEY", "k" * 64)
    config = Config()
    source = (DOCS / "jupyterhub_config.py").read_text()
    exec(compile(source, "jupyterhub_config.py", "exec"), {"get_config": lambda: config})  # noqa: S102
    return config


def test_example_registers_the_service_its_role_and_scopes(example: Config) -> None:
    from jupyterhub.scopes import _check_scopes_exist

    (service,) = [s for s in example.JupyterHub.services if s["name"] == SERVICE]
    assert service["command"][0] == "jupyter-dbx-hub" and service["oauth_no_confirm"] is True
    # The store key reaches the service, and through no other setting.
    assert service["environment"]["JUPYTER_DBX_AUTH_CRYPT_KEY"] == "k" * 64
    assert "k" * 64 not in repr(example.Spawner)
    access = f"access:services!service={SERVICE}"
    assert access in example.Spawner.server_token_scopes
    assert access in example.JupyterHub.extra_user_scopes
    scopes = {
        *example.Spawner.server_token_scopes,
        *example.JupyterHub.extra_user_scopes,
        *(scope for role in example.JupyterHub.load_roles for scope in role["scopes"]),
    }
    _check_scopes_exist(scopes)  # raises KeyError on a scope JupyterHub does not know
    (role,) = example.JupyterHub.load_roles
    assert role["services"] == [SERVICE]
    assert example.JupyterHub.public_url.startswith("https://")


def test_documented_service_options_exist() -> None:
    text = (DOCS / "jupyterhub_config.py").read_text() + (DOCS / "kubernetes.md").read_text()
    named = set(re.findall(r"c\.DatabricksAuthHub\.(\w+)", text))
    assert named, "the docs name no option"
    assert named <= set(DatabricksAuthHub.class_own_traits(config=True))


def test_example_single_user_environment_turns_hub_mode_on(example: Config) -> None:
    """What the example puts in the single-user environment is what the server extension reads
    (`DatabricksAuth.hub_service`, `core.hub_client.HubEndpoint`)."""
    from jupyter_dbx_auth.core.hub_client import ENV_SERVICE, HubEndpoint

    environment = dict(example.Spawner.environment)
    assert environment[ENV_SERVICE] == SERVICE
    hub_env = {**environment, "JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_BASE_URL": "/"}
    endpoint = HubEndpoint.from_env(environment[ENV_SERVICE], hub_env)
    assert endpoint is not None and endpoint.api_url.endswith(f"/services/{SERVICE}/")
    assert endpoint.login_path("prod", "/user/a/").startswith(f"/services/{SERVICE}/login/prod?")
    assert not any("SECRET" in name or "KEY" in name for name in environment)
