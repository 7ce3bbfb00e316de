"""JupyterHub token service: one callback URL for the hub, per-user sign-ins, group service
principals, and access tokens handed to single-user servers (see docs/hub/).

`app`: configuration and the `jupyter-dbx-hub` process; `handlers`: the HTTP API over the interface
it needs (`protocol.HubAuthService`); `service`: that interface over `core.service.AuthService`,
one per hub user and per hub group; `store`: the encrypted SQL store they run on.
"""
