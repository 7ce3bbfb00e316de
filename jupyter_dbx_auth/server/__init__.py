"""Jupyter server extension: OAuth flows, callback, secret store and the kernel token API."""
