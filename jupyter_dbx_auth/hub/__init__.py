"""JupyterHub token service: one callback URL for the hub, per-user sign-ins, group service
principals, and access tokens handed to single-user servers (see docs/hub/).

Built so far: the encrypted SQL store (`store`), the service's configuration (`app`), and a sketch
of its HTTP API (`handlers`) over the interface it needs (`protocol.HubAuthService`). What is left
is one small adapter implementing that interface over `core.service.AuthService`.
"""
