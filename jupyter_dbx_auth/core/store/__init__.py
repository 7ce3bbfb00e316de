"""Secret store: one interface (`SecretStore`), three backends (keyring, encrypted file, memory)."""

from .base import SecretStore, StoreRecord

__all__ = ["SecretStore", "StoreRecord"]
