"""JupyterHub token service: one callback URL for the hub, per-user sign-ins, group service
principals, and access tokens handed to single-user servers (see docs/hub/).

Built so far: the encrypted SQL store (`store`) and the service's configuration (`app`). The HTTP
service is to become a thin adapter over `core.service.AuthService`.
"""
