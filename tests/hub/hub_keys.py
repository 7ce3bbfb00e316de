"""Test-only store key for the hub tests (a fixed, obviously fake key)."""

STORE_KEY = "3c" * 32
