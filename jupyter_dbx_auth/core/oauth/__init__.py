"""The OAuth engine, organised by concept: `authorize` (code flow start, PKCE S256 via `pkce`),
`grants` (token requests), `retry` (what is retried and what is final), `tokens` (`TokenSet`), and
`engine` (`OAuthEngine`, the async HTTP side)."""

from .authorize import PendingLogin, start_authorization
from .engine import DEFAULT_CLIENT_ID, Endpoints, OAuthEngine
from .retry import RetryPolicy, parse_retry_after
from .tokens import TokenSet

__all__ = [
    "DEFAULT_CLIENT_ID",
    "Endpoints",
    "OAuthEngine",
    "PendingLogin",
    "RetryPolicy",
    "TokenSet",
    "parse_retry_after",
    "start_authorization",
]
