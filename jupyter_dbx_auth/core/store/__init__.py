"""Secret store: one interface (`SecretStore`), three backends (keyring, encrypted file, memory).

Open one with `open_store(backend="auto", path=None, key=None)`.
"""

from .base import SecretStore, StoreRecord
from .encrypted_file import EncryptedFileStore
from .keyring_store import KeyringStore
from .memory import MemoryStore
from .select import default_store_path, open_store

__all__ = [
    "EncryptedFileStore",
    "KeyringStore",
    "MemoryStore",
    "SecretStore",
    "StoreRecord",
    "default_store_path",
    "open_store",
]
