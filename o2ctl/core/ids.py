"""Identifiers for environments and tasks: short, unique, safe in actor names and paths.

AliECS uses 11-character base58 ids (``2oDvieFrVTi``); operators read and type them, so
ours look the same.
"""

from __future__ import annotations

import secrets

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_id(length: int = 11) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
