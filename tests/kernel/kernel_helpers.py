"""Constants and profile text shared by the kernel tests."""

from __future__ import annotations

from typing import Any

CANARY = "canary-secret-7f3a9c-DO-NOT-LEAK"
ETL_SP = "emulator-etl-sp"
ADMIN_SP = "emulator-admin-sp"


def profiles_text(emu: Any) -> str:
    etl = emu.service_principal(ETL_SP)
    admin = emu.service_principal(ADMIN_SP)
    return f"""
[etl]
host = {emu.url}
client_id = {etl["client_id"]}
client_secret = {etl["secret"]}

[admin]
host = {emu.url}
account_id = {emu.account_id}
client_id = {admin["client_id"]}
client_secret = {admin["secret"]}

[nosecret]
host = {emu.url}
auth_type = oauth-m2m
client_id = {etl["client_id"]}

[me]
host = {emu.url}
auth_type = databricks-cli
"""
