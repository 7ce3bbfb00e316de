"""Route table for `{base_url}dbx-auth/`: one handler class per endpoint.

| route                                   | verbs            | auth                            |
|-----------------------------------------|------------------|---------------------------------|
| api/version                             | GET              | Jupyter                         |
| api/connections                         | GET              | Jupyter or kernel key           |
| api/connections/{name}/login            | POST             | Jupyter (XSRF) or kernel key    |
| api/connections/{name}/logout           | POST             | Jupyter (XSRF) or kernel key    |
| api/connections/{name}/cli-login        | GET, POST        | Jupyter (XSRF) or kernel key    |
| api/connections/{name}/callback         | POST (paste)     | Jupyter (XSRF) or kernel key    |
| api/connections/{name}/cancel           | POST             | Jupyter (XSRF) or kernel key    |
| api/service-principals                  | GET, POST        | Jupyter (XSRF) or kernel key    |
| api/service-principals                  | DELETE           | Jupyter (XSRF)                  |
| api/token                               | GET              | kernel key only                 |
| api/events                              | GET (SSE)        | Jupyter or kernel key           |
| api/metadata-service                    | GET              | kernel key only                 |
| login/{name}                            | GET (HTML)       | Jupyter (a page with a button)  |
| login/{name}                            | POST (form)      | Jupyter (XSRF): starts sign-in  |
| callback                                | GET (HTML)       | Jupyter                         |
"""

from __future__ import annotations

from typing import Any

from .cli_login import CliLoginHandler
from .connections import CancelLoginHandler, ConnectionsHandler, LoginHandler, LogoutHandler
from .events import EventsHandler
from .pages import CallbackHandler, LoginStartHandler, SignedInHandler
from .paste import PasteHandler
from .service_principals import ServicePrincipalsHandler
from .token import TokenHandler
from .version import VersionHandler

_NAME = r"(?P<name>[^/?#]+)"


def build_handlers() -> list[tuple[str, Any]]:
    from ..metadata_service import MetadataUrlHandler  # imports this package's base module

    return [
        (r"/dbx-auth/api/version", VersionHandler),
        (r"/dbx-auth/api/connections", ConnectionsHandler),
        (rf"/dbx-auth/api/connections/{_NAME}/login", LoginHandler),
        (rf"/dbx-auth/api/connections/{_NAME}/logout", LogoutHandler),
        (rf"/dbx-auth/api/connections/{_NAME}/cli-login", CliLoginHandler),
        (rf"/dbx-auth/api/connections/{_NAME}/callback", PasteHandler),
        (rf"/dbx-auth/api/connections/{_NAME}/cancel", CancelLoginHandler),
        (r"/dbx-auth/api/service-principals", ServicePrincipalsHandler),
        (r"/dbx-auth/api/token", TokenHandler),
        (r"/dbx-auth/api/events", EventsHandler),
        (r"/dbx-auth/api/metadata-service", MetadataUrlHandler),
        (rf"/dbx-auth/login/{_NAME}", LoginStartHandler),
        (r"/dbx-auth/callback", CallbackHandler),
        (rf"/dbx-auth/signed-in/{_NAME}", SignedInHandler),
    ]
