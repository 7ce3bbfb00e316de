"""Run the emulator as a real subprocess and turn its fault knobs: the Python API tests use.

    emu = EmulatorProcess(token_ttl=60).start()
    WorkspaceClient(host=emu.url, client_id=..., client_secret=...)
    AccountClient(host=emu.account_url, account_id=emu.account_id, ...)
    app = emu.create_custom_app(["http://127.0.0.1:8888/dbx-auth/callback"])  # as an admin does
    emu.fail_next_token_requests(2, status=429, retry_after=1)
    emu.stop()

The knobs go through the admin endpoint, which only exists because this harness passes the
process a fresh random admin key. `EmulatorProcess(admin=False)` (what `make demo` uses) starts it
without one: no admin endpoint at all, and the knobs raise `EmulatorError`.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

from .admin import ADMIN_KEY_ENV, ADMIN_KEY_HEADER, ADMIN_PATH
from .seed import TEST_OIDC_ISSUER, Seed, load_seed, public_config
from .test_issuer import OidcTestIssuer

READY_PREFIX = "JUPYTER_DBX_EMULATOR_READY "
UNTRUSTED_OIDC_ISSUER = "https://untrusted-issuer.example"
START_TIMEOUT = 30.0


class EmulatorError(RuntimeError):
    """The emulator process failed to start or refused an admin call."""


class EmulatorProcess:
    def __init__(
        self,
        *,
        token_ttl: int = 3600,
        state: dict | str | Path | None = None,
        base_path: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        keep_sign_ins: str | Path | None = None,
        apps: dict[str, list[str]] | None = None,
        admin: bool = True,
        public_url: str = "",
    ) -> None:
        """`apps`: public custom OAuth apps registered at start ({client id: redirect URLs}),
        part of the seed, so they survive `reset()` (the `--app` option)."""
        self.token_ttl = token_ttl
        self.base_path = base_path
        self.public_url = public_url
        self.host = host
        self.port = port
        self.keep_sign_ins = keep_sign_ins
        self.trusted_issuer = OidcTestIssuer(TEST_OIDC_ISSUER)
        self.untrusted_issuer = OidcTestIssuer(UNTRUSTED_OIDC_ISSUER)
        self.seed: Seed = self._with_test_issuer(load_seed(state))
        self.config: dict[str, Any] = public_config(self.seed)
        self.account_id: str = self.seed["account_id"]
        self.workspace_id: str = str(self.seed["workspace_id"])
        self.apps = dict(apps or {})
        self.url = ""
        self.account_url = ""  # the account console's own port (AccountClient's host)
        # No key, no admin endpoint: a process others can reach (the demo) gets none.
        self._admin_key = secrets.token_urlsafe(32) if admin else None
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: Path | None = None
        self._client: httpx.Client | None = None

    def _with_test_issuer(self, seed: Seed) -> Seed:
        """Policies that trust the test issuer but carry no keys get the trusted issuer's JWKS."""
        for policy in seed.get("federation_policies", []):
            oidc = policy.get("oidc_policy") or {}
            if oidc.get("issuer") == TEST_OIDC_ISSUER and not oidc.get("jwks_json"):
                oidc["jwks_json"] = json.dumps(self.trusted_issuer.jwks())
        return seed

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> EmulatorProcess:
        self._tmp = Path(tempfile.mkdtemp(prefix="dbx-emulator-"))
        seed_file = self._tmp / "seed.json"
        seed_file.write_text(json.dumps(self.seed))
        seed_file.chmod(0o600)
        log_file = (self._tmp / "emulator.log").open("w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop(ADMIN_KEY_ENV, None)  # never inherit one from whoever started us
        if self._admin_key:
            env[ADMIN_KEY_ENV] = self._admin_key
        # Importable even from a source checkout that is not installed (pytest from any cwd).
        source_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
        cmd = [
            sys.executable, "-m", "jupyter_dbx_auth.emulator",
            "--host", self.host, "--port", str(self.port),
            "--token-ttl", str(self.token_ttl), "--state", str(seed_file),
            "--base-path", self.base_path, "--account-port", "0",
        ]  # fmt: skip
        if self.keep_sign_ins is not None:
            cmd += ["--keep-sign-ins", str(self.keep_sign_ins)]
        if self.public_url:
            cmd += ["--public-url", self.public_url]
        for client_id, urls in self.apps.items():
            cmd += [arg for url in urls for arg in ("--app", f"{client_id}={url}")]
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own module
            cmd, stdout=subprocess.PIPE, stderr=log_file, text=True, env=env
        )
        log_file.close()
        try:
            ready = self._wait_ready(self._proc.stdout)
        except Exception:
            self.stop()
            raise
        self.url = ready["url"]
        self.port = ready["port"]
        self.account_url = ready["account_url"]
        self._client = httpx.Client(trust_env=False, timeout=10)
        return self

    def _wait_ready(self, stdout: IO[str] | None) -> dict[str, Any]:
        assert stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=0.2):
                    if self._proc is not None and self._proc.poll() is not None:
                        break
                    continue
                line = stdout.readline()
                if line.startswith(READY_PREFIX):
                    return json.loads(line[len(READY_PREFIX) :])
                if not line and self._proc is not None and self._proc.poll() is not None:
                    break
        raise EmulatorError(f"emulator did not start; log:\n{self.log()}")

    def log(self) -> str:
        path = self._tmp / "emulator.log" if self._tmp else None
        return path.read_text() if path and path.exists() else ""

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> EmulatorProcess:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- fault knobs -------------------------------------------------------------------------
    def _admin(self, action: str, **args: Any) -> dict[str, Any]:
        if self._client is None:
            raise EmulatorError("the emulator is not running")
        if self._admin_key is None:
            raise EmulatorError("this emulator was started with admin=False: no fault knobs")
        response = self._client.post(
            self.url + ADMIN_PATH,
            json={"action": action, **args},
            headers={ADMIN_KEY_HEADER: self._admin_key},
        )
        if response.status_code != 200:
            raise EmulatorError(f"admin {action} failed: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        """Back to the seed: faults cleared, counters zeroed, issued tokens and codes forgotten."""
        self._admin("reset")

    def set_latency(self, seconds: float) -> None:
        self._admin("latency", seconds=seconds)

    def fail_next_token_requests(
        self, n: int, status: int = 503, retry_after: float | None = None
    ) -> None:
        """The next `n` token requests fail with `status` (429 sends Retry-After if given)."""
        self._admin("fail_token_requests", n=n, status=status, retry_after=retry_after)

    def revoke(self, subject: str) -> None:
        """Revoke every access and refresh token of a user (email) or principal (client id)."""
        self._admin("revoke", subject=subject)

    def set_down(self, down: bool) -> None:
        """IdP outage: the authorize and token endpoints drop connections without answering."""
        self._admin("down", down=down)

    def set_clock_offset(self, seconds: float) -> None:
        self._admin("clock_offset", seconds=seconds)

    def token_requests(self) -> dict[str, int]:
        """Token endpoint hits by grant_type since the last reset."""
        return dict(self._admin("token_requests")["token_requests"])

    # -- OAuth apps, as an account admin manages them -------------------------------------------
    def account_api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call `/api/2.0/accounts/{id}/{path}` as the seeded account-admin service principal,
        through the same OAuth M2M sign-in and REST API any admin tool uses."""
        if self._client is None:
            raise EmulatorError("the emulator is not running")
        sp = self.service_principal("emulator-admin-sp")
        issuer = f"{self.account_url}/oidc/accounts/{self.account_id}"
        token = self._client.post(
            f"{issuer}/v1/token",
            data={"grant_type": "client_credentials", "scope": "all-apis"},
            auth=(sp["client_id"], sp["secret"]),
        )
        if token.status_code != 200:
            raise EmulatorError(f"admin sign-in failed: {token.status_code} {token.text}")
        response = self._client.request(
            method,
            f"{self.account_url}/api/2.0/accounts/{self.account_id}/{path}",
            json=body,
            headers={"Authorization": "Bearer " + token.json()["access_token"]},
        )
        if response.status_code != 200:
            raise EmulatorError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def create_custom_app(
        self,
        redirect_urls: list[str],
        *,
        confidential: bool = False,
        name: str = "jupyter-dbx-auth tests",
        scopes: list[str] | None = None,
    ) -> dict[str, Any]:
        """A custom OAuth app integration with exactly these redirect URLs: `client_id`,
        `integration_id` and, for a confidential app, `client_secret`. Gone after `reset()`."""
        return self.account_api(
            "POST",
            "oauth2/custom-app-integrations",
            {
                "name": name,
                "redirect_urls": redirect_urls,
                "confidential": confidential,
                "scopes": scopes or ["all-apis", "offline_access", "openid", "email", "profile"],
            },
        )

    def delete_custom_app(self, integration_id: str) -> None:
        self.account_api("DELETE", f"oauth2/custom-app-integrations/{integration_id}")

    # -- workload identity -------------------------------------------------------------------
    def issue_test_oidc_token(
        self,
        subject: str = "system:serviceaccount:team:notebook",
        audience: str | list[str] | None = None,
        *,
        trusted: bool = True,
        ttl: int = 300,
        **claims: Any,
    ) -> str:
        """A JWT from the test issuer the seed's federation policies trust (or, with
        `trusted=False`, from an issuer nobody trusts). Audience defaults to the account id."""
        issuer = self.trusted_issuer if trusted else self.untrusted_issuer
        return issuer.mint(subject, audience or self.account_id, ttl=ttl, **claims)

    # -- seed helpers ------------------------------------------------------------------------
    def user(self, username: str) -> dict[str, Any]:
        return next(u for u in self.config["users"] if u["username"] == username)

    def service_principal(self, display_name: str) -> dict[str, Any]:
        return next(
            sp for sp in self.config["service_principals"] if sp["display_name"] == display_name
        )
