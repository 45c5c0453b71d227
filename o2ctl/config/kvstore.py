"""The site's configuration store, read as AliECS's configuration service (apricot) keeps it.

AliECS keeps what describes the site in Consul under ``o2/``: the hardware inventory
(``o2/hardware/detectors/DET/flps/HOST/``) and the components' configuration payloads
(``o2/components/COMPONENT/RUNTYPE/ROLE/ENTRY``). o2ctl reads the same keys through a
``ConfigStore``: a directory tree where each key is a file (a key ending in ``/`` is a
directory), the default, under ``$O2CTL_STATE_DIR/config``; or a Consul agent
(``consul://HOST:PORT[/PREFIX]``). ``O2CTL_CONFIG_STORE`` names another one. Keys are
checked before they touch a path: a template's value never reads outside the store.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from o2ctl.config.consul_kv import ConsulKV, parse_consul_uri
from o2ctl.config.errors import ConfigError

CONFIG_STORE_ENV = "O2CTL_CONFIG_STORE"
_SEGMENT = re.compile(r"[A-Za-z0-9_.+@=,:\-]+")
MAX_VALUE_BYTES = 16 * 1024 * 1024


class ConfigStore(Protocol):
    """Read access to the site's configuration keys."""

    def get(self, key: str) -> str | None:
        """The value of ``key``, or None when it does not exist."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (folders end with ``/``), sorted."""
        ...


def check_key(key: str) -> str:
    """``key`` as a relative path of plain segments (no ``..``, no empty or odd segment)."""
    parts = key.strip("/").split("/")
    if not key.strip("/") or any(p in (".", "..") or not _SEGMENT.fullmatch(p) for p in parts):
        raise ConfigError(
            f"bad configuration key {key!r}: expected segments of [A-Za-z0-9_.+@=,:-]"
        )
    return "/".join(parts)


class DirectoryStore:
    """Keys as files under ``root`` (``o2/hardware/...``)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.root)!r})"

    def get(self, key: str) -> str | None:
        path = self.root / check_key(key)
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_VALUE_BYTES:
            raise ConfigError(f"configuration key {key}: larger than {MAX_VALUE_BYTES} bytes")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read configuration key {key} ({path}): {e}") from e

    def keys(self, prefix: str) -> list[str]:
        base = self.root / check_key(prefix)
        if not base.is_dir():
            return []
        found: list[str] = []
        for folder, dirs, files in os.walk(base):
            rel = Path(folder).relative_to(self.root).as_posix()
            found.extend(f"{rel}/{d}/" for d in dirs)
            found.extend(f"{rel}/{f}" for f in files)
        return sorted(found)


class ConsulStore:
    """Keys of a Consul agent, under an optional prefix."""

    def __init__(self, host: str, port: int, prefix: str = "") -> None:
        self.kv = ConsulKV(host, port)
        self.prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"ConsulStore({self.kv.address!r}, {self.prefix!r})"

    def _key(self, key: str) -> str:
        return "/".join(p for p in (self.prefix, check_key(key)) if p)

    def get(self, key: str) -> str | None:
        value = self.kv.get(self._key(key))
        if value is None:
            return None
        try:
            return value.data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError(f"Consul key {self._key(key)} is not UTF-8 text: {e}") from e

    def keys(self, prefix: str) -> list[str]:
        lead = f"{self.prefix}/" if self.prefix else ""
        return sorted(k[len(lead) :] for k in self.kv.keys(self._key(prefix)) if k.startswith(lead))


def open_config_store(uri: str | None = None, state: Path | None = None) -> ConfigStore | None:
    """The store named by ``uri`` (else ``$O2CTL_CONFIG_STORE``), else ``STATE/config`` when
    that directory exists, else None (no configuration store: helpers warn)."""
    text = uri or os.environ.get(CONFIG_STORE_ENV, "")
    if text.startswith("consul://"):
        return ConsulStore(*parse_consul_uri(text))
    if text:
        root = Path(text.removeprefix("file://")).expanduser()
        if not root.is_dir():
            raise ConfigError(f"configuration store {text}: no such directory")
        return DirectoryStore(root)
    if state is not None and (state / "config").is_dir():
        return DirectoryStore(state / "config")
    return None
