"""DPL just-in-time workflows: a DPL command in, a generated workflow's name out, cached.

What AliECS does for ``dpl.Generate``/``dpl.GenerateFromUri`` happens here, below the
templates: the workflow is named ``jit-`` + the SHA-1 of the resolved command, the
installed DPL software's versions (the output of ``versions_command``, AliECS's
``rpm -qa o2-O2 o2-QualityControl``), the ``jit_env_vars``, the repository and revision
the command came from, and the configuration payloads its ``consul-json://`` and
``apricot://`` URIs name (read from the configuration store). When ``workflows/NAME.yaml``
is in o2ctl's cache (``$O2CTL_STATE_DIR/jit``) it is reused and nothing runs. Otherwise
the command runs with ``--o2-control NAME`` (bash; the site's DPL environment script
sourced first when one is configured, as AliECS sources ``/etc/profile.d/o2.sh``) in a
scratch directory of the cache, never in a repository's checkout, under a time and
output budget (``jitrun``); the files it wrote are moved into the cache, the tasks first
and the workflow last, so a workflow present means a complete generation.

The settings come from the environment: ``O2CTL_DPL_ENV_SCRIPT``,
``O2CTL_DPL_VERSIONS_CMD``, ``O2CTL_JIT_TIMEOUT_S``, ``O2CTL_JIT_OUTPUT_BYTES``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from o2ctl.config.durable import state_dir
from o2ctl.config.errors import ConfigError
from o2ctl.config.jitrun import run_bounded
from o2ctl.config.kvstore import ConfigStore
from o2ctl.config.refs import KIND_DIRS, check_name
from o2ctl.config.repository import ConfigRepository
from o2ctl.config.source import CommandText, TemplateKind, TemplateText

DEFAULT_VERSIONS_CMD = "rpm -qa o2-O2 o2-QualityControl"
_URI = re.compile(r"""['"]?(?:consul-json|apricot)://[^ |\n]+""")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_PAYLOAD_URIS = 2
MAX_GENERATED_FILES = 2000
MAX_GENERATED_BYTES = 4 * 1024 * 1024


class JitError(ConfigError):
    """A DPL generation that failed; the message says what ran and how it ended."""


@dataclass(frozen=True)
class JitSettings:
    """How DPL commands run at this site."""

    cache_dir: Path
    env_script: str | None = None
    versions_command: str = DEFAULT_VERSIONS_CMD
    timeout_s: float = 45.0
    output_bytes: int = 4 * 1024 * 1024

    @classmethod
    def from_env(cls, state: Path | None = None) -> JitSettings:
        env = os.environ
        return cls(
            cache_dir=(state or state_dir()) / "jit",
            env_script=env.get("O2CTL_DPL_ENV_SCRIPT") or None,
            versions_command=env.get("O2CTL_DPL_VERSIONS_CMD", DEFAULT_VERSIONS_CMD),
            timeout_s=float(env.get("O2CTL_JIT_TIMEOUT_S", "45")),
            output_bytes=int(env.get("O2CTL_JIT_OUTPUT_BYTES", str(4 * 1024 * 1024))),
        )


def export_line(env_vars: str) -> str:
    """``jit_env_vars`` (``A=1 B='x y'``) as a safe ``export`` (each value quoted)."""
    try:
        words = shlex.split(env_vars.replace("\n", " "))
    except ValueError as e:
        raise JitError(f"jit_env_vars {env_vars!r}: {e}") from None
    pairs = []
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not _ENV_NAME.fullmatch(name):
            raise JitError(f"jit_env_vars: {word!r} is not NAME=VALUE")
        pairs.append(f"{name}={shlex.quote(value)}")
    return f"export {' '.join(pairs)} && " if pairs else ""


def payload_uris(command: str) -> list[str]:
    """The configuration URIs of a DPL command (at most two, as AliECS), quotes trimmed."""
    found = []
    for match in _URI.findall(command)[:MAX_PAYLOAD_URIS]:
        quoted = match[0] in "'\"" and match[0] == match[-1]
        found.append(match.strip("'\"") if quoted else match)
    return found


@dataclass
class JitGenerator:
    """DPL generation for the workflows of one repository at one revision."""

    home: ConfigRepository
    revision: str | None
    settings: JitSettings
    store: ConfigStore | None = None
    deadline: float | None = None  # time.monotonic() by which every run must have ended
    runs: int = 0
    warnings: list[str] = field(default_factory=list)
    _versions: str | None = None

    def command(self, name: str) -> CommandText | None:
        """The command in the repository's ``jit/NAME``, or None."""
        return self.home.get_jit_command(name, self.revision)

    def identity(self) -> str:
        """The repository and revision, as they enter the name."""
        resolve = getattr(self.home, "resolve", None)
        commit = resolve(self.revision) if callable(resolve) else self.revision or ""
        return f"{self.home.uri}@{commit}"

    def versions(self) -> str:
        """The installed DPL software's versions (read once per generator)."""
        if self._versions is None:
            try:
                done = subprocess.run(
                    ["bash", "-c", self.settings.versions_command],
                    capture_output=True, stdin=subprocess.DEVNULL, timeout=30, check=False,
                )  # fmt: skip
                self._versions = done.stdout.decode("utf-8", "replace")
                if done.returncode != 0:
                    self.warnings.append(
                        f"JIT: could not read the DPL versions ({self.settings.versions_command!r} "
                        f"exited with {done.returncode}); the workflow names do not track them"
                    )
            except subprocess.TimeoutExpired:
                self._versions = ""
                self.warnings.append("JIT: the DPL versions command took more than 30 s")
        return self._versions

    def payloads(self, command: str) -> list[str]:
        """The configuration payloads named in ``command``."""
        found = []
        for uri in payload_uris(command):
            key = uri.partition("components/")[2].partition("?")[0]
            if not key:
                raise JitError(f"configuration URI {uri!r} names no o2/components/ entry")
            if self.store is None:
                self.warnings.append(f"JIT: no configuration store, payload {uri} not read")
                continue
            value = self.store.get(f"o2/components/{key}")
            if value is None:
                raise JitError(f"configuration payload {uri} not found (o2/components/{key})")
            found.append(value)
        return found

    def name_for(self, command: str, env_vars: str) -> str:
        digest = hashlib.sha1()
        digest.update((command + self.versions() + env_vars + self.identity()).encode())
        for payload in self.payloads(command):
            digest.update(payload.encode())
        return "jit-" + digest.hexdigest()

    def generate(self, command: str, env_vars: str) -> str:
        """The generated workflow's name for ``command`` (run only when not cached)."""
        name = self.name_for(command, env_vars)
        cache = self.settings.cache_dir
        if (cache / "workflows" / f"{name}.yaml").is_file():
            return name
        cache.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".run-", dir=cache))
        try:
            self._run(command, env_vars, name, scratch)
            self._keep(name, scratch, cache)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return name

    def _run(self, command: str, env_vars: str, name: str, scratch: Path) -> None:
        source = self.settings.env_script
        script = "ulimit -S -v unlimited 2>/dev/null; set -o pipefail; " + export_line(env_vars)
        if source:
            script += f"source {shlex.quote(source)} && "
        script += f"{command.replace(chr(10), ' ')} --o2-control {name}"
        self.runs += 1
        s = self.settings
        timeout = s.timeout_s
        if self.deadline is not None:
            timeout = max(0.1, min(timeout, self.deadline - time.monotonic()))
        result = run_bounded(script, scratch, dict(os.environ), timeout, s.output_bytes)
        why = result.why(timeout, s.output_bytes)
        if not why and not (scratch / "workflows" / f"{name}.yaml").is_file():
            why = f"exited with status 0 but wrote no workflows/{name}.yaml"
        if why:
            last = " / ".join(result.tail) or "(it printed nothing)"
            raise JitError(f"the DPL command {why}; its last lines: {last}")

    def _keep(self, name: str, scratch: Path, cache: Path) -> None:
        tasks = sorted((scratch / "tasks").glob(f"{name}-*.yaml"))
        files = [*tasks, scratch / "workflows" / f"{name}.yaml"]
        if len(files) > MAX_GENERATED_FILES:
            raise JitError(
                f"the DPL command wrote {len(files)} files (at most {MAX_GENERATED_FILES})"
            )
        for path in files:
            if path.is_symlink() or path.stat().st_size > MAX_GENERATED_BYTES:
                raise JitError(
                    f"the DPL command wrote {path.name}: a link, or over {MAX_GENERATED_BYTES} B"
                )
        for path in files:
            target = cache / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)

    def template(self, kind: TemplateKind, name: str) -> TemplateText | None:
        """A generated template from the cache (None for names the cache does not hold)."""
        if not name.startswith("jit-") or kind not in KIND_DIRS:
            return None
        check_name(kind, name, "jit cache")
        path = self.settings.cache_dir / KIND_DIRS[kind] / f"{name}.yaml"
        if not path.is_file():
            return None
        try:
            return TemplateText(name, kind, path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read generated template {path}: {e}") from e
