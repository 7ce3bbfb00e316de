"""The fault-knob endpoint the test harness drives.

It exists only when the process was started with an admin key (env `JUPYTER_DBX_EMULATOR_ADMIN_KEY`,
set by the harness to a fresh random value) and every call must present that key: an emulator
started by hand, as `make demo` does, has no admin surface at all.
"""

from __future__ import annotations

import hmac
from typing import Any

from .handlers.base import DatabricksError, EmulatorHandler

ADMIN_KEY_ENV = "JUPYTER_DBX_EMULATOR_ADMIN_KEY"
ADMIN_KEY_HEADER = "X-Emulator-Admin-Key"
ADMIN_PATH = "/__emulator__/admin"


class AdminHandler(EmulatorHandler):
    apply_faults = False

    def post(self) -> None:
        expected = self.settings.get("emulator_admin_key") or ""
        presented = self.request.headers.get(ADMIN_KEY_HEADER, "")
        if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
            raise DatabricksError(403, "PERMISSION_DENIED", "Admin key required.")
        body = self.json_body()
        action = body.get("action")
        handler = getattr(self, f"_do_{action}", None) if isinstance(action, str) else None
        if handler is None:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Unknown action {action!r}.")
        try:
            result = handler(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise DatabricksError(400, "INVALID_PARAMETER_VALUE", f"Bad arguments: {exc}") from exc
        self.write_json(200, result or {})

    def _do_reset(self, body: dict[str, Any]) -> None:
        self.state.reset()

    def _do_latency(self, body: dict[str, Any]) -> None:
        self.state.faults.latency = max(0.0, float(body["seconds"]))

    def _do_fail_token_requests(self, body: dict[str, Any]) -> None:
        status = int(body.get("status", 503))
        if status not in (429, 500, 502, 503, 504):
            raise ValueError("status must be 429 or a 5xx")
        retry_after = body.get("retry_after")
        faults = self.state.faults
        faults.fail_next = max(0, int(body["n"]))
        faults.fail_status = status
        faults.fail_retry_after = None if retry_after is None else float(retry_after)

    def _do_revoke(self, body: dict[str, Any]) -> None:
        subject = str(body["subject"])
        if self.state.principal(subject) is None:
            raise ValueError(f"no user or service principal {subject!r}")
        self.state.revoke_subject(subject)

    def _do_down(self, body: dict[str, Any]) -> None:
        self.state.faults.down = bool(body["down"])

    def _do_clock_offset(self, body: dict[str, Any]) -> None:
        self.state.faults.clock_offset = float(body["seconds"])

    def _do_token_requests(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"token_requests": dict(self.state.token_requests)}
