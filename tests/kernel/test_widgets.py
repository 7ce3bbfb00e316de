"""The picker's state logic (PickerModel) and its widget binding, without a browser.

In-process backend against the emulator; a canary secret typed into the add-SP form must not be
found in any widget's state afterwards, nor in the status line.
"""

from __future__ import annotations

import json

import pytest
from kernel_helpers import CANARY, ETL_SP


@pytest.fixture
def backend(profiles):
    from jupyter_dbx_auth.kernel.backends import LocalBackend, set_backend

    b = LocalBackend()
    set_backend(b)
    return b


def all_widget_state() -> str:
    from ipywidgets.widgets.widget import _instances

    return json.dumps([w.get_state() for w in list(_instances.values())], default=str)


def test_model_selects_modes_and_connects(backend):
    from jupyter_dbx_auth.kernel.picker_model import SP, USER, PickerModel

    injected = {}
    model = PickerModel(backend, inject=injected.__setitem__)
    changes = []
    model.on_change = lambda: changes.append(1)
    model.reload(preferred="etl")
    assert model.state.selected == "etl"
    assert model.state.mode == SP  # an m2m connection picks its service principal
    assert model.sp_options()[0][1] == model.state.current().client_id
    model.select("me")
    assert model.state.mode == USER and model.state.sp is None
    assert "needs Jupyter server" in model.status_line()
    assert model.connect() is None  # U2M without a server: the message says why
    assert model.state.error and "needs the Jupyter server" in model.state.message
    model.select("etl")
    result = model.connect(var="w_etl")
    assert result is not None and not model.state.error
    assert injected["w_etl"].current_user.me().display_name == ETL_SP
    line = model.status_line()
    assert line.startswith("w_etl: etl as ") and "token valid " in line and "(until " in line
    # The status line follows the selection: another connection shows its own status.
    model.select("me")
    assert model.status_line().startswith("me: ")
    model.select("etl")
    assert model.status_line().startswith("w_etl: etl")
    assert changes


def test_add_service_principal_form_clears_and_never_echoes_the_secret(backend, emulator):
    from jupyter_dbx_auth.kernel.widgets import picker

    view = picker("me", backend=backend, live=False)
    etl = emulator.service_principal(ETL_SP)

    # A rejected secret (the canary): not saved, field cleared, message without the secret.
    view.sp_client_id.value = etl["client_id"]
    view.sp_secret.value = CANARY
    view.sp_label.value = "nightly"
    assert view.on_save() is False
    assert view.sp_secret.value == ""
    assert "Not saved" in view.model.state.message
    state = all_widget_state()
    assert CANARY not in state

    # The real secret: saved, listed by label, selected, field cleared, then Connect works.
    view.sp_client_id.value = etl["client_id"]
    view.sp_secret.value = etl["secret"]
    view.sp_label.value = "nightly"
    assert view.on_save() is True, view.model.state.message
    assert view.sp_secret.value == ""
    assert view.sp.options and view.sp.value == etl["client_id"]
    assert view.mode.value == "sp"
    assert ("nightly", etl["client_id"]) in view.model.sp_options()
    view.var.value = "w_sp"
    result = view.on_connect()
    assert result is not None, view.model.state.message
    assert result.client.current_user.me().display_name == ETL_SP
    state = all_widget_state()
    for needle in (CANARY, etl["secret"], result.cache.peek().access_token.reveal()):
        assert needle not in state
        assert needle not in view.status.value
    view.close()


def test_a_service_principal_connection_defaults_to_its_own_principal(backend, emulator):
    from jupyter_dbx_auth.core.secret import Secret
    from jupyter_dbx_auth.kernel.picker_model import SP, PickerModel

    admin = emulator.service_principal("emulator-admin-sp")
    # Another principal stored beside it comes first in the list; the connection's own is still
    # the default.
    etl = emulator.service_principal(ETL_SP)
    for sp in (admin, etl):
        backend.add_service_principal(
            "etl", sp["client_id"], Secret(sp["secret"]), label="", expires_at=None
        )
    model = PickerModel(backend)
    model.reload(preferred="etl")
    assert model.sp_options()[0][1] == admin["client_id"]
    assert model.state.mode == SP
    assert model.state.sp == model.state.current().client_id != admin["client_id"]


def test_apply_event_updates_a_row(backend):
    from jupyter_dbx_auth.kernel.picker_model import PickerModel

    model = PickerModel(backend)
    model.reload(preferred="me")
    model.apply_event({"type": "status", "name": "me", "status": "ok", "identity": "alice"})
    assert model.status_line() == "me: signed in as alice."
    model.apply_event({"name": "me", "status": "logged_out", "identity": None})
    assert model.status_line() == "me: not signed in."


def test_secret_typed_in_the_browser_is_not_echoed(backend):
    from jupyter_dbx_auth.kernel.widgets import picker

    view = picker("etl", backend=backend, live=False)
    sent = []
    view.sp_secret._send = lambda msg, buffers=None: sent.append(msg)
    view.sp_client_id._send = lambda msg, buffers=None: sent.append(msg)
    for widget, value in ((view.sp_client_id, "some-client"), (view.sp_secret, CANARY)):
        msg = {"method": "update", "state": {"value": value}, "buffer_paths": []}
        widget._handle_msg({"content": {"data": msg}, "buffers": []})
    assert view.sp_secret.value == CANARY  # received, for Save to read once
    assert any("some-client" in json.dumps(m) for m in sent)  # ordinary fields do echo
    assert not any(CANARY in json.dumps(m) for m in sent)
    view.close()
