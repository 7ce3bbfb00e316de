# A complete jupyterhub_config.py for Databricks sign-in on a JupyterHub (JupyterHub >= 6.1).
#
# STATUS (see docs/hub/README.md): the token service (`jupyter-dbx-hub`), its store, this
# configuration and the single-user "hub mode" (the server extension in each user's server listing
# the service's connections, signing in there and getting its tokens from it) are built and tested
# on a real JupyterHub 6.1.
#
# What it sets up:
#   - the hub token service `dbx-auth`, a hub-managed service owning the ONE redirect URL that
#     the Databricks OAuth app registers: {public_url}services/dbx-auth/callback;
#   - its role (read users and groups, so it knows who belongs to which group);
#   - every user may reach the service (hub OAuth), and every single-user server's own
#     JUPYTERHUB_API_TOKEN may ask it for that user's access tokens, and for nothing else;
#   - the single-user environment: where the servers find the service. No secret goes there.
#
# Secrets live in the hub's environment and are handed to the service only:
#   JUPYTER_DBX_AUTH_CRYPT_KEY            the store key(s): `openssl rand -hex 32`, ';'-separated
#   JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET  only if the OAuth app is confidential
#   DBX_SP_DATA_SCIENCE_SECRET            an example group service principal's secret
# Spawner.env_keep does not list them, so single-user servers never inherit them.
# ruff: noqa: F821

import os

c = get_config()  # provided by JupyterHub when it loads this file

SERVICE = "dbx-auth"
SERVICE_PORT = 10101  # loopback port of the service; the proxy routes /services/dbx-auth/ to it

# -- the hub --------------------------------------------------------------------------------------
# The public URL is what browsers use. The service builds the OAuth callback URL from it, so it
# must be right (and https in production): https://hub.example.com/services/dbx-auth/callback
c.JupyterHub.public_url = "https://hub.example.com/"
c.JupyterHub.db_url = os.environ.get("JUPYTERHUB_DB_URL", "sqlite:///jupyterhub.sqlite")

# Any authenticator works; groups come from it (or from load_groups / the admin page). The token
# service hands out a group's service principal to that group's members only.
c.JupyterHub.authenticator_class = "dummy"  # replace with your identity provider
c.JupyterHub.load_groups = {
    "data-science": {"users": ["alice"]},
    "finance": {"users": ["bob"]},
}
c.Authenticator.admin_users = {"admin"}  # hub admins see the service's admin page

# -- the token service ----------------------------------------------------------------------------
c.JupyterHub.services = [
    {
        "name": SERVICE,
        "url": f"http://127.0.0.1:{SERVICE_PORT}",
        "command": ["jupyter-dbx-hub", "-f", "/etc/jupyterhub/jupyter_dbx_hub_config.py"],
        # The service's environment: its secrets, and nothing of the hub's own.
        "environment": {
            name: os.environ[name]
            for name in (
                "JUPYTER_DBX_AUTH_CRYPT_KEY",
                "JUPYTER_DBX_AUTH_OAUTH_CLIENT_SECRET",
                "DBX_SP_DATA_SCIENCE_SECRET",
                "PATH",
            )
            if name in os.environ
        },
        # Users reach it through hub OAuth (the callback, the admin page); it is part of the hub,
        # so the "authorize this service?" page is skipped.
        "oauth_no_confirm": True,
        "display": False,  # nothing to open from the hub's home page
    },
]

c.JupyterHub.load_roles = [
    {
        # What the service itself may ask the hub: who a user is and which groups they are in.
        "name": "dbx-auth-service",
        "description": "Databricks token service: reads users and their groups",
        "services": [SERVICE],
        "scopes": ["read:users:name", "read:users:groups", "read:groups:name"],
    },
]

# Every user may use the service through hub OAuth (sign in, see their status).
c.JupyterHub.extra_user_scopes = {f"access:services!service={SERVICE}"}

# -- single-user servers ---------------------------------------------------------------------
# A server's own token may reach the token service (it gets that user's tokens, never anyone
# else's). `users:activity!user` and `access:servers!server` are what servers need anyway.
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    f"access:services!service={SERVICE}",
]
# Hub mode: the server extension (jupyter-dbx-auth, installed in the single-user image) finds the
# service by these two names and calls it with the server's own JUPYTERHUB_API_TOKEN. No secret
# goes here. JUPYTER_DBX_AUTH_HUB_SERVICE_URL is where a server reaches the service's API: its own
# address (below, as the servers run on this host) or, in containers, an address they can reach
# (the proxy's, or e.g. http://hub:10101/services/dbx-auth/ on Kubernetes); unset, servers use the
# hub's public URL (JUPYTERHUB_PUBLIC_HUB_URL, set when c.JupyterHub.public_url is).
# Browsers always sign in at {public_url}services/dbx-auth/login/<connection> (same origin).
c.Spawner.environment = {
    "JUPYTER_DBX_AUTH_HUB_SERVICE": SERVICE,
    "JUPYTER_DBX_AUTH_HUB_SERVICE_URL": f"http://127.0.0.1:{SERVICE_PORT}/services/{SERVICE}/",
}

# -- the service's own file: /etc/jupyterhub/jupyter_dbx_hub_config.py --------------------------
# Write one with `jupyter-dbx-hub --generate-config`; the essentials:
#
#   c.DatabricksAuthHub.db_url = "postgresql://dbx_auth@db.internal/dbx_auth"  # or sqlite:///...
#   c.DatabricksAuthHub.oauth_client_id = "<the OAuth app's client id>"
#   c.DatabricksAuthHub.connections = {
#       "prod": {"host": "https://adb-1234567890123456.7.azuredatabricks.net"},
#   }
#   c.DatabricksAuthHub.group_service_principals = {
#       "data-science": [
#           {
#               "connection": "prod",
#               "client_id": "<the SP's application id>",
#               "client_secret_env": "DBX_SP_DATA_SCIENCE_SECRET",
#               "expires": "2027-06-30",
#           }
#       ],
#   }
#
# Then `jupyter-dbx-hub -f /etc/jupyterhub/jupyter_dbx_hub_config.py --check` prints the redirect
# URL to register with the OAuth app (account console > Settings > App connections).
