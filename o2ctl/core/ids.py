"""Identifiers for environments and tasks: short, unique, safe in actor names and paths.

AliECS uses 11-character base58 ids (``2oDvieFrVTi``); operators read and type them, so
ours look the same.
"""

from __future__ import annotations

import secrets

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_id(length: int = 11) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def valid_id(text: str, length: int = 11) -> bool:
    """Whether ``text`` is an id ``new_id`` could have made."""
    return len(text) == length and all(c in _ALPHABET for c in text)
