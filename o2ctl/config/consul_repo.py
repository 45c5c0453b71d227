"""``consul://HOST:PORT/PREFIX``: templates stored as keys in Consul.

Keys mirror the file tree: ``PREFIX/workflows/NAME.yaml`` and ``PREFIX/tasks/NAME.yaml``,
each value being the YAML text. Consul keeps no history, so this backend has no
revisions; templates are read live (nothing to refresh). ``put_template`` is how
templates get there (``o2ctl config import`` and the tests use it).
"""

from __future__ import annotations

from o2ctl.config.consul_kv import ConsulKV
from o2ctl.config.errors import ConfigError
from o2ctl.config.refs import KIND_DIRS, TEMPLATE_SUFFIXES, check_name
from o2ctl.config.repository import ConfigRepository
from o2ctl.config.source import CommandText, TemplateKind, TemplateText


class ConsulRepository(ConfigRepository):
    """Templates under one key prefix of a Consul agent."""

    backend = "consul"

    def __init__(self, host: str, port: int, prefix: str, name: str | None = None) -> None:
        self.prefix = prefix.strip("/")
        super().__init__(f"consul://{host}:{port}/{self.prefix}", name)
        self.kv = ConsulKV(host, port)

    def key(self, kind: TemplateKind, name: str, suffix: str = ".yaml") -> str:
        return "/".join(p for p in (self.prefix, KIND_DIRS[kind], f"{name}{suffix}") if p)

    def read_template(self, kind: TemplateKind, name: str, revision: str | None) -> TemplateText:
        if revision is not None:
            raise self.no_revisions(name, revision)
        for suffix in TEMPLATE_SUFFIXES:
            key = self.key(kind, name, suffix)
            value = self.kv.get(key)
            if value is not None:
                return TemplateText(name, kind, _decode(value.data, key), self._origin(key))
        raise self.not_found(kind, name)

    def read_jit(self, name: str, revision: str | None) -> CommandText | None:
        if revision is not None:
            raise self.no_revisions(f"jit/{name}", revision)
        key = "/".join(p for p in (self.prefix, "jit", name) if p)
        value = self.kv.get(key)
        if value is None:
            return None
        return CommandText(name, _decode(value.data, key), self._origin(key))

    def list_names(self, kind: TemplateKind, revision: str | None) -> list[str]:
        if revision is not None:
            raise self.no_revisions(f"{KIND_DIRS[kind]}/", revision)
        folder = "/".join(p for p in (self.prefix, KIND_DIRS[kind]) if p) + "/"
        names = set()
        for key in self.kv.keys(folder):
            leaf = key[len(folder) :]
            for suffix in TEMPLATE_SUFFIXES:
                if leaf.endswith(suffix) and "/" not in leaf:
                    names.add(leaf[: -len(suffix)])
        return sorted(names)

    def put_template(self, kind: TemplateKind, name: str, text: str) -> None:
        """Store (or replace) one template."""
        check_name(kind, name, self.name)
        self.kv.put(self.key(kind, name), text.encode("utf-8"))

    def _origin(self, key: str) -> str:
        return f"consul://{self.kv.address}/{key}"


def _decode(data: bytes, key: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"Consul key {key} is not UTF-8 text: {e}") from e
