"""The sign-in page a person (or tests/browser.py) sees at the authorization endpoint.

Plain forms with stable field names (`username`, `password`, `action`) so a browser test can type
into them and an HTTP client can fill them. Every interpolated value is escaped.
"""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;color:#1b3139}"
    "label{display:block;margin:.6rem 0}input{width:100%;padding:.4rem}"
    "button{margin:.8rem .4rem 0 0;padding:.5rem 1rem}.err{color:#b00020}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def sign_in_page(
    *,
    action_url: str,
    app_name: str,
    scopes: list[str],
    error: str | None = None,
    username: str = "",
) -> str:
    scope_items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    err = f'<p class="err" role="alert">{escape(error)}</p>' if error else ""
    body = (
        "<h1>Sign in to Databricks (emulator)</h1>"
        f"<p><strong>{escape(app_name)}</strong> is asking to access your account with:</p>"
        f"<ul>{scope_items}</ul>{err}"
        f'<form id="signin" method="post" action="{escape(action_url)}">'
        '<label>Email <input name="username" type="email" autocomplete="username" '
        f'value="{escape(username)}" required></label>'
        '<label>Password <input name="password" type="password" '
        'autocomplete="current-password"></label>'
        '<button type="submit" name="action" value="allow">Sign in and allow</button>'
        '<button type="submit" name="action" value="deny" formnovalidate>Deny</button>'
        "</form>"
    )
    return _page("Sign in - Databricks emulator", body)
