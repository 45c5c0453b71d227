"""``o2ctl config show|import``: the runtime store (run number, global defaults/vars, values).

The store is the file one under the state directory unless ``--store`` (or
``$O2CTL_RUNTIME``) names another (``consul://HOST:PORT/PREFIX``). ``import`` reads a YAML
or JSON file ``{defaults: {...}, vars: {...}, runtime: {...}}`` and merges it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from o2ctl.cli.common import Output, OutputFormat, console, print_json, runtime_store
from o2ctl.config import ConfigError

app = typer.Typer(help="Runtime configuration: run number, global defaults and vars.")

Store = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="file://DIR or consul://HOST:PORT/PREFIX (default: $O2CTL_RUNTIME or the state dir)",
    ),
]


@app.command("show")
def show(store: Store = None, output: Output = OutputFormat.text) -> None:
    """Show the last run number, the global defaults and vars, and runtime values."""
    shown = runtime_store(store).show()
    if output is OutputFormat.json:
        print_json(shown)
        return
    console.print(yaml.safe_dump(shown, sort_keys=True, default_flow_style=False).rstrip())


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="YAML or JSON file: defaults, vars, runtime")],
    store: Store = None,
) -> None:
    """Merge a file's defaults, vars and runtime values into the store."""
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read {file}: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{file}: not YAML/JSON: {e}") from e
    try:
        runtime_store(store).import_config(loaded if loaded is not None else {})
    except ConfigError as e:
        raise ConfigError(f"{file}: {e}") from e
    console.print(f"imported {file}")
