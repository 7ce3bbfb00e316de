"""A Databricks workspace and its account console on one port, for tests, the demo and Binder.

It stands in for Databricks, so it shares no code with the client side of the project (a bug in
shared code would pass every test). Run it with `jupyter-dbx-emulator` or drive it from tests with
`jupyter_dbx_auth.emulator.harness.EmulatorProcess`.
"""
