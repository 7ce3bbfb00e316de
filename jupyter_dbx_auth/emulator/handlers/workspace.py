"""Workspace REST APIs that real clients call, in the shapes Databricks returns."""

from __future__ import annotations

import uuid
from typing import Any

from ..state import ServicePrincipal, User, new_numeric_id
from .base import DatabricksError, EmulatorHandler

SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_SP = "urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"
SCIM_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def scim_user(user: User) -> dict[str, Any]:
    return {
        "schemas": [SCIM_USER],
        "id": user.id,
        "userName": user.username,
        "displayName": user.display_name,
        "active": True,
        "emails": [{"value": user.username, "type": "work", "primary": True}],
        "groups": [{"display": "admins", "value": "3000000000000001"}]
        if user.account_admin
        else [],
    }


def scim_sp(sp: ServicePrincipal) -> dict[str, Any]:
    return {
        "schemas": [SCIM_SP],
        "id": sp.id,
        "applicationId": sp.application_id,
        "displayName": sp.display_name,
        "active": True,
    }


def scim_list(handler: EmulatorHandler, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """One SCIM page; clients (databricks-sdk) page with startIndex until Resources is empty."""
    try:
        start = max(1, int(handler.get_query_argument("startIndex", "1")))
        count = max(0, int(handler.get_query_argument("count", "10000")))
    except ValueError as exc:
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "Bad startIndex or count.") from exc
    page = resources[start - 1 : start - 1 + count]
    return {
        "schemas": [SCIM_LIST],
        "totalResults": len(resources),
        "startIndex": start,
        "itemsPerPage": len(page),
        "Resources": page,
    }


class WorkspaceHandler(EmulatorHandler):
    def set_default_headers(self) -> None:
        super().set_default_headers()
        # databricks-sdk reads the workspace id from this header (Config.sql_http_path).
        self.set_header("x-databricks-org-id", self.state.workspace_id)


class ScimMeHandler(WorkspaceHandler):
    def get(self) -> None:
        caller = self.authenticate()
        principal = caller.principal
        body = scim_user(principal) if isinstance(principal, User) else scim_sp(principal)
        if isinstance(principal, ServicePrincipal):
            body["userName"] = principal.application_id
        self.write_json(200, body)


class ClustersListHandler(WorkspaceHandler):
    def get(self) -> None:
        self.authenticate()
        clusters = [
            {"state": "TERMINATED", "spark_version": "15.4.x-scala2.12", **c}
            for c in self.state.clusters
        ]
        self.write_json(200, {"clusters": clusters})


class ScimServicePrincipalsHandler(WorkspaceHandler):
    def get(self) -> None:
        self.authenticate()
        resources = [scim_sp(sp) for sp in self.state.service_principals.values()]
        self.write_json(200, scim_list(self, resources))

    def post(self) -> None:
        caller = self.authenticate()
        if not caller.principal.account_admin:
            raise DatabricksError(403, "PERMISSION_DENIED", "Only admins can add principals.")
        body = self.json_body()
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", "displayName is required.")
        sp = ServicePrincipal(
            id=new_numeric_id(),
            application_id=str(body.get("applicationId") or uuid.uuid4()),
            display_name=name.strip(),
        )
        if sp.application_id in self.state.service_principals:
            raise DatabricksError(409, "RESOURCE_ALREADY_EXISTS", "applicationId already exists.")
        self.state.service_principals[sp.application_id] = sp
        self.write_json(201, scim_sp(sp))


class ScimServicePrincipalHandler(WorkspaceHandler):
    def get(self, sp_id: str) -> None:
        self.authenticate()
        sp = self.state.sp_by_id(sp_id)
        if sp is None:
            raise DatabricksError(404, "RESOURCE_DOES_NOT_EXIST", f"No service principal {sp_id}.")
        self.write_json(200, scim_sp(sp))
