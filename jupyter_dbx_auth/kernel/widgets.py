"""`jupyter_dbx_auth.picker()`: connection dropdown, user login or service principal, add-SP form,
Connect, and a live status line. ipywidgets is imported here only (it costs ~250 ms).

The logic lives in `picker_model.PickerModel`; this module only binds widgets to it. No widget
ever holds a token or a secret: the Password field is read once on Save, handed to the backend
wrapped in `Secret`, and cleared whether the save worked or not (its value is synced to the
browser while typed, which is unavoidable for an input; it is never echoed back or kept).
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any

from ..core.errors import DbxAuthError, LoginRequired
from .backends import Backend, current_backend
from .picker_model import SP, USER, PickerModel


class Picker:
    """The widget tree around a `PickerModel`; `picker()` builds and returns one."""

    def __init__(self, model: PickerModel) -> None:
        import ipywidgets as W

        self.model = model
        self.connection = W.Dropdown(description="Connection")
        self.mode = W.ToggleButtons(
            options=[("Sign in as me", USER), ("Service principal", SP)], value=USER
        )
        # Wide enough for a whole client id (a UUID): a cut-off id cannot be told from another.
        self.sp = W.Dropdown(description="Principal", layout=W.Layout(width="36em"))
        self.var = W.Text(value="", placeholder="w / a / conn", description="Variable")
        self.env = W.Checkbox(
            value=False,
            description="Also sign in WorkspaceClient(), !commands and subprocesses",
            indent=False,
        )
        self.connect_button = W.Button(description="Connect", button_style="primary")
        self.status = W.HTML()
        self.status.add_class("jp-DbxAuth-pickerStatus")  # the UI tests find it by this
        self.sp_client_id = W.Text(description="Client id")
        self.sp_secret = _secret_field_class()(description="Secret")
        self.sp_label = W.Text(description="Label")
        self.sp_expires = W.Text(description="Expires", placeholder="2027-01-31 (optional)")
        self.sp_save = W.Button(description="Save service principal")
        self.add_form = W.Accordion(
            children=[
                W.VBox(
                    [
                        self.sp_client_id,
                        self.sp_secret,
                        self.sp_label,
                        self.sp_expires,
                        self.sp_save,
                    ]
                )
            ],
            selected_index=None,
        )
        self.add_form.set_title(0, "Add service principal")
        # Shown while a sign-in may end on an address the browser cannot open (public app,
        # browser not on this machine): the link, one sentence, the address field.
        self.paste_note = W.HTML()
        self.paste_text = W.Text(description="Address", placeholder="http://localhost:8020/?code=")
        self.paste_button = W.Button(description="Finish sign-in")
        self.paste_box = W.VBox([self.paste_note, W.HBox([self.paste_text, self.paste_button])])
        self.paste_box.layout.display = "none"
        self._paste_for: str | None = None
        self.widget = W.VBox(
            [self.connection, self.mode, self.sp, self.var, self.env, self.connect_button,
             self.paste_box,
             self.add_form, self.status]
        )  # fmt: skip
        self._syncing = False
        self.connection.observe(self._on_connection, names="value")
        self.mode.observe(lambda ch: self.model.set_mode(ch["new"]), names="value")
        self.sp.observe(self._on_sp, names="value")
        self.connect_button.on_click(lambda _b: self.on_connect())
        self.sp_save.on_click(lambda _b: self.on_save())
        self.paste_button.on_click(lambda _b: self.on_paste())
        model.on_change = self.render
        self._stop = threading.Event()

    # -- rendering --------------------------------------------------------------------------

    def render(self) -> None:
        state = self.model.state
        self._syncing = True  # our own assignments must not feed back into the model
        try:
            self.connection.options = [c.name for c in state.connections]
            self.connection.value = state.selected
            self.mode.value = state.mode
            options = self.model.sp_options()
            self.sp.options = options
            self.sp.value = state.sp if state.sp in [v for _, v in options] else None
            self.sp.layout.display = "" if state.mode == SP else "none"
        finally:
            self._syncing = False
        self.render_status()

    def render_status(self) -> None:
        import html

        state = self.model.state
        line = html.escape(self.model.status_line())
        note = html.escape(state.message)
        color = "#b00020" if state.error else "inherit"
        self.status.value = f"<div>{line}</div>" + (
            f'<div style="color:{color}">{note}</div>' if note else ""
        )

    def _on_connection(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.model.select(change["new"])

    def _on_sp(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.model.set_sp(change["new"])

    # -- actions ----------------------------------------------------------------------------

    def on_save(self) -> bool:
        secret = self.sp_secret.value
        self.sp_secret.value = ""  # cleared first: nothing below may leave it in the widget
        ok = self.model.add_service_principal(
            self.sp_client_id.value,
            secret,
            expires=self.sp_expires.value,
            label=self.sp_label.value,
        )
        del secret
        if ok:
            self.sp_client_id.value = self.sp_label.value = self.sp_expires.value = ""
            self.add_form.selected_index = None
        return ok

    def on_connect(self) -> Any:
        self.connect_button.disabled = True
        try:
            return self.model.connect(
                var=self.var.value.strip() or None, ui=_StatusUI(self), env=self.env.value
            )
        finally:
            self.connect_button.disabled = False

    def on_paste(self) -> Any:
        """Post the pasted address to the server, then connect (now signed in)."""
        name, url = self._paste_for, self.paste_text.value.strip()
        self.paste_text.value = ""
        if not name:
            return None
        try:
            self.model.backend.paste(name, url)
        except DbxAuthError as exc:
            self.model._say(f"{exc.message} {exc.hint}".strip(), error=True)
            return None
        self._paste_for = None
        self.paste_box.layout.display = "none"
        return self.on_connect()

    # -- live updates -----------------------------------------------------------------------

    def start_live_updates(self, backend: Backend) -> None:
        """A 1-second countdown tick, and the server's status events when there is a server."""
        ref = weakref.ref(self)
        stop = self._stop

        def tick() -> None:
            while not stop.wait(1.0):
                picker = ref()
                if picker is None:
                    return
                picker.render_status()
                del picker

        threading.Thread(target=tick, name="dbx-picker-tick", daemon=True).start()
        client = getattr(backend, "client", None)
        if client is None:
            return

        def listen() -> None:
            try:
                for event in client.events():
                    picker = ref()
                    if picker is None or stop.is_set():
                        return
                    if "connections" not in event:  # a single status change
                        picker.model.apply_event(event)
                    del picker
            except Exception:  # the status line just stops updating: no traceback in cells
                return

        threading.Thread(target=listen, name="dbx-picker-events", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.widget.close()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


@functools.cache
def _secret_field_class() -> type:
    """A Password widget whose typed value is not echoed.

    ipywidgets 8 answers every update from a browser with an `echo_update` message carrying the
    new state to every frontend of the kernel (so that other views stay in sync): for a plain
    `Password` that broadcasts the typed secret on IOPub. Marking the trait `echo_update=False`
    (what `FileUpload` does for file contents) keeps the secret on the one comm it came in on.
    """
    import ipywidgets as W
    from traitlets import Unicode

    class SecretField(W.Password):
        value = Unicode(help="Secret (never echoed)").tag(sync=True, echo_update=False)

    return SecretField


class _StatusUI:
    """Login progress in the picker's status line, with a link to open the sign-in."""

    def __init__(self, picker: Picker) -> None:
        self.picker = picker

    def link(self, url: str, name: str) -> None:
        import html

        self.picker.status.value = (
            f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="opener">'
            f"<b>Open the Databricks sign-in</b></a> for {html.escape(name)} &mdash; click it: "
            "nothing opens by itself."
        )

    def progress(self, text: str) -> None:
        import html

        self.picker.status.value = self.picker.status.value.split("<div>")[0] + (
            f"<div>{html.escape(text)}</div>"
        )

    def done(self) -> None:
        pass

    def paste(self, name: str, start: dict[str, Any]) -> str | None:
        import html

        # A button cannot be clicked while this cell waits: show the field and stop waiting.
        link = self.picker.status.value
        self.picker.paste_note.value = f"{link}<div>{html.escape(start.get('message') or '')}</div>"
        self.picker._paste_for = name
        self.picker.paste_box.layout.display = ""
        raise LoginRequired(
            f"Sign in to {name} with the link above, then paste the address the browser ended on "
            "and click Finish sign-in.",
            hint="If the browser came back to Jupyter by itself, click Connect again.",
        )


def picker(name: str | None = None, *, backend: Backend | None = None, live: bool = True) -> Picker:
    """The Databricks connection picker. Connect injects `w`/`a` (or the Variable) like
    `%dbx_connect`."""
    backend = backend or current_backend()

    def inject(var: str, value: Any) -> None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.user_ns[var] = value

    model = PickerModel(backend, inject=inject)
    view = Picker(model)
    model.reload(preferred=name)
    if live:
        view.start_live_updates(backend)
    return view
