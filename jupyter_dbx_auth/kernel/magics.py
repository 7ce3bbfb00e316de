"""IPython magics: `%dbx_connect`, `%dbx_status`, `%dbx_logout`, `%dbx_login`.

Kept import-light: this module imports IPython only (already loaded in a kernel). httpx, the core
engine, databricks-sdk and ipywidgets load when a magic runs, so `%load_ext jupyter_dbx_auth`
stays fast.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

CONNECT_EXAMPLES = """
Examples::

  %dbx_connect ws                     # w = WorkspaceClient for connection/profile "ws"
  %dbx_connect ws --as prod           # ... injected as `prod` instead of `w`
  %dbx_connect etl --sp nightly       # as the stored service principal labelled "nightly"
  %dbx_connect admin --account        # a = AccountClient
  %dbx_connect ws --sql               # conn = databricks.sql, the only running warehouse
  %dbx_connect ws --sql --warehouse 1234567890abcdef   # ... that warehouse (id or name)
  %dbx_connect ws --env               # ... and WorkspaceClient(), !python, subprocesses sign in
  %dbx_connect ws --spark --serverless                 # spark = Databricks Connect session
  %dbx_connect --host https://adb-123.4.azuredatabricks.net

Then ``w.current_user.me()``. Tokens are refreshed shortly before they expire: the client keeps
working for as long as the notebook runs. ``%dbx_status`` shows every connection.
"""


class DbxMagicError(Exception):
    """A problem a person can act on: shown as two lines, without a traceback."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def _render_traceback_(self) -> list[str]:
        # IPython (and ipykernel) print these lines instead of a traceback.
        return [f"dbx-auth: {self.message}"] + ([self.hint] if self.hint else [])

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


def _friendly(exc: BaseException) -> DbxMagicError:
    from ..core.errors import DbxAuthError

    if isinstance(exc, DbxAuthError):
        return DbxMagicError(exc.message, exc.hint)
    # Anything else (e.g. the sdk refusing a host) as its type and message only: sdk messages
    # name hosts and settings, never our token.
    return DbxMagicError(f"{type(exc).__name__}: {exc}", "")


class _PrintUI:
    """The magic's login UI: a link (HTML in a notebook), then one updating progress line."""

    def __init__(self) -> None:
        self._handle: Any = None

    def link(self, url: str, name: str) -> None:
        from IPython.display import HTML, display

        # No window opens by itself (a kernel cannot open one): the words say to click.
        text = f"Open the Databricks sign-in for {name}: {url}"
        html = (
            f'<a href="{_escape(url)}" target="_blank" rel="opener"><b>Open the Databricks '
            f"sign-in</b></a> for {_escape(name)} &mdash; click it: nothing opens by itself."
        )
        display({"text/plain": text, "text/html": html}, raw=True)
        self._handle = display(HTML("<i>Waiting for the sign-in...</i>"), display_id=True)

    def progress(self, text: str) -> None:
        if self._handle is not None:
            self._handle.update({"text/plain": text}, raw=True)
        else:
            print(text, file=sys.stderr)

    def done(self) -> None:
        if self._handle is not None:
            self._handle.update({"text/plain": ""}, raw=True)

    def paste(self, name: str, start: dict[str, Any]) -> str | None:
        # The cell is busy while it waits, so no widget could answer: the notebook's own input
        # box (stdin) takes the address. Enter alone keeps waiting (a browser on this machine is
        # handed on to Jupyter by itself).
        print(start.get("message") or "", file=sys.stderr)
        try:
            return input(f"Address starting with {start.get('paste_prefix')} (or Enter): ").strip()
        except (EOFError, OSError, NotImplementedError):  # no stdin: wait for the sidebar
            return None


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def without_comment(line: str) -> str:
    """The magic's arguments without a trailing `# comment` (IPython passes it on verbatim)."""
    if "#" not in line:
        return line
    try:
        return shlex.join(shlex.split(line, comments=True))
    except ValueError:  # unbalanced quotes: the argument parser says what is wrong
        return line


def parse_connect_line(line: str) -> argparse.Namespace:
    """`%dbx_connect`'s arguments, parsed exactly as the magic parses them."""
    return parse_argstring(DatabricksMagics.dbx_connect, without_comment(line))


@magics_class
class DatabricksMagics(Magics):
    """Connect notebooks to Databricks with the identity the Jupyter server signed in."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        # What each variable we assigned holds, in words: for "replaced w (was: ...)".
        self._made: dict[str, str] = {}

    @magic_arguments()
    @argument("name", nargs="?", help="Connection or .databrickscfg profile name.")
    @argument("--host", help="Workspace or account console URL instead of a name.")
    @argument("--user", action="store_true", help="Sign in as yourself (U2M).")
    @argument("--sp", metavar="LABEL", help="A stored service principal (label or client id).")
    @argument("--account", action="store_true", help="Give an AccountClient (`a`).")
    @argument("--sql", action="store_true", help="Give a databricks.sql connection (`conn`).")
    @argument(
        "--warehouse", metavar="ID", help="SQL warehouse id or name (default: the running one)."
    )
    @argument("--http-path", dest="http_path", metavar="PATH", help="SQL HTTP path (with --sql).")
    @argument("--env", action="store_true", help="Also sign in WorkspaceClient(), subprocesses.")
    @argument("--spark", action="store_true", help="Give a Databricks Connect session (`spark`).")
    @argument("--cluster", metavar="ID", help="Cluster id for --spark.")
    @argument("--serverless", action="store_true", help="Serverless compute for --spark.")
    @argument("--as", dest="var", metavar="VAR", help="Variable to assign instead of w/a/conn.")
    @argument("--timeout", type=float, default=None, help="Seconds to wait for a browser sign-in.")
    @line_magic
    def dbx_connect(self, line: str) -> None:
        """Inject a Databricks client whose token is refreshed before it expires."""
        args = parse_connect_line(line)
        if args.var is not None and not args.var.isidentifier():
            raise DbxMagicError(f"--as {args.var!r} is not a Python name.", "Use e.g. --as w2.")
        if args.warehouse or args.http_path:
            args.sql = True
        from .connect import LOGIN_TIMEOUT, ConnectOptions, connect

        options = ConnectOptions(
            name=args.name,
            host=args.host,
            sp=args.sp,
            user=args.user,
            account=args.account,
            sql=args.sql,
            warehouse=args.warehouse,
            http_path=args.http_path,
            var=args.var,
            env=args.env,
            spark=args.spark or bool(args.cluster) or args.serverless,
            cluster=args.cluster,
            serverless=args.serverless,
            login_timeout=args.timeout if args.timeout is not None else LOGIN_TIMEOUT,
        )
        try:
            result = connect(options, ui=_PrintUI())
        except KeyboardInterrupt:
            raise DbxMagicError(
                "Cancelled while waiting for the sign-in.", "Run %dbx_connect again to retry."
            ) from None
        except Exception as exc:
            raise _friendly(exc) from None
        previous = self.shell.user_ns.get(result.var)
        self.shell.user_ns[result.var] = result.client
        print(result.summary())
        if previous is not None and previous is not result.client:
            was = self._made.get(result.var) or f"a {type(previous).__name__}"
            print(f"replaced {result.var} (was: {was})")
        self._made[result.var] = result.describe()

    dbx_connect.__doc__ = (dbx_connect.__doc__ or "") + CONNECT_EXAMPLES

    @line_magic
    def dbx_status(self, line: str) -> Any:
        """A table of connections: name, identity, method, status, token expiry, warnings.
        `%dbx_status NAME`: the SQL warehouses of that connection, with their HTTP paths."""
        from .status import status_table, warehouse_table

        name = without_comment(line).strip()
        try:
            return warehouse_table(name) if name else status_table()
        except Exception as exc:
            raise _friendly(exc) from None

    @magic_arguments()
    @argument("name", help="Connection to sign out of.")
    @line_magic
    def dbx_logout(self, line: str) -> None:
        """Forget the connection's tokens (the server also revokes them when it can)."""
        args = parse_argstring(self.dbx_logout, without_comment(line))
        from .backends import current_backend

        try:
            current_backend().logout(args.name)
        except Exception as exc:
            raise _friendly(exc) from None
        print(f"Signed out of {args.name}.")

    @magic_arguments()
    @argument("name", nargs="?", help="Connection to preselect (or to sign in with --from-cli).")
    @argument(
        "--from-cli",
        dest="from_cli",
        action="store_true",
        help="Use the Databricks CLI's sign-in (`databricks auth login`) for NAME.",
    )
    @argument("--overwrite", action="store_true", help="With --from-cli: replace a sign-in.")
    @argument(
        "--paste",
        metavar="ADDRESS",
        help="Finish NAME's sign-in with the address the browser ended on (quote it).",
    )
    @line_magic
    def dbx_login(self, line: str) -> Any:
        """The connection picker widget (the same as `jupyter_dbx_auth.picker()`).

        `%dbx_login NAME --paste ADDRESS`: finish NAME's sign-in with the address the browser
        ended on (http://localhost:8020/?code=...), when it could not open it."""
        args = parse_argstring(self.dbx_login, without_comment(line))
        if args.paste:
            if not args.name:
                raise DbxMagicError("Usage: %dbx_login NAME --paste ADDRESS", "Quote the address.")
            from .backends import current_backend

            try:
                # IPython's argument parser keeps the quotes around a quoted value.
                current_backend().paste(args.name, args.paste.strip().strip("'\""))
            except Exception as exc:
                raise _friendly(exc) from None
            print(f"Signed in to {args.name}.")
            return None
        if args.from_cli:
            from .cli_login import use_cli_login

            try:
                print(use_cli_login(args.name, overwrite=args.overwrite))
            except Exception as exc:
                raise _friendly(exc) from None
            return None
        from .widgets import picker

        return picker(args.name)


def complete_connection_names(_ipython: Any, event: Any) -> list[str]:
    """Tab completion for `%dbx_connect` / `%dbx_logout`: connection names (and `--sp` labels)."""
    from .backends import current_backend

    try:
        backend = current_backend()
        words = event.text_until_cursor.split()
        if len(words) >= 2 and (words[-1] == "--sp" or words[-2] == "--sp"):
            name = next((w for w in words[1:] if not w.startswith("-")), None)
            if name:
                sps = backend.service_principals(name)
                return [str(sp.get("label") or sp.get("client_id")) for sp in sps]
        return [c.name for c in backend.connections() if c.method != "?"]
    except Exception:
        return []  # completion must never raise into the editor


def register(ipython: Any) -> None:
    from .env_export import hide_from_env_magic

    ipython.register_magics(DatabricksMagics)
    hide_from_env_magic(ipython)  # `%env` lists the metadata-service URL as <hidden>
    for magic in ("%dbx_connect", "%dbx_logout", "%dbx_login"):
        ipython.set_hook("complete_command", complete_connection_names, str_key=magic)


def unregister(ipython: Any) -> None:
    # IPython has no public unregister; dropping our class from the registry is what it offers.
    ipython.magics_manager.registry.pop(DatabricksMagics.__name__, None)
