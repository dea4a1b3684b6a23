"""The ``rwa`` command: a thin layer over the library.

User errors (anything deriving from :class:`~rwaledger.errors.RwaError`, bad
input, a revert) print one readable line on stderr and exit 1; no tracebacks.
``--json`` prints machine-readable output for scripts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from typer._click import ClickException
from rich.console import Console
from rich.table import Table

from . import node as node_mod
from .errors import ContractRevert, RwaError

app = typer.Typer(
    help="rwaledger: tokenize real-world assets and keep their ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
node_app = typer.Typer(help="Run a local anvil node that keeps its chain between commands.", no_args_is_help=True)
app.add_typer(node_app, name="node")

out = Console()
err = Console(stderr=True)


class State:
    json: bool = False


state = State()


@app.callback()
def _options(json_output: bool = typer.Option(False, "--json", help="Print JSON instead of tables.")) -> None:
    state.json = json_output


def emit(data: Any, table: Table | str | None = None) -> None:
    """Print ``data`` as JSON under --json, else the table (or a line)."""
    if state.json:
        out.print_json(json.dumps(data, default=str))
    elif table is not None:
        out.print(table)


def kv_table(title: str, rows: dict[str, Any]) -> Table:
    t = Table(title=title, show_header=False)
    t.add_column(style="bold")
    t.add_column()
    for k, v in rows.items():
        t.add_row(k, str(v))
    return t


NetworkOpt = typer.Option("tester", "--network", "-n", help="tester, anvil, or an http(s):// / ws(s):// JSON-RPC URL.")


# --- compile -------------------------------------------------------------------


@app.command("compile")
def compile_cmd(force: bool = typer.Option(False, "--force", help="Ignore the cache.")) -> None:
    """Compile contracts/ and say which compiler ran and whether the cache served it."""
    from .compiler import compile_project

    result = compile_project(force=force)
    for w in result.warnings:
        err.print(f"[yellow]warning[/] {w}", highlight=False)
    data = {
        "compiler": result.compiler.version,
        "compiler_kind": result.compiler.kind,
        "compiler_path": result.compiler.path,
        "cached": result.cached,
        "seconds": round(result.seconds, 4),
        "contracts": sorted(result.artifacts),
        "cache_key": result.key,
    }
    source = "cache" if result.cached else "compiled"
    emit(
        data,
        f"{source}: {len(result.artifacts)} contracts in {result.seconds:.3f}s with {result.compiler.describe()}",
    )


# --- node ------------------------------------------------------------------------


@node_app.command("start")
def node_start(
    port: int = typer.Option(8545, help="Port on 127.0.0.1."),
    state_file: Optional[Path] = typer.Option(None, "--state", help="Where the chain is kept between runs."),
) -> None:
    """Start a background anvil (chain kept in a state file between runs)."""
    info = node_mod.start_background(port=port, state_file=state_file)
    verb = "already running" if info["already_running"] else "started"
    emit(info, f"anvil {verb}: {info['url']} (pid {info['pid']}, state {info['state_file']})")


@node_app.command("stop")
def node_stop() -> None:
    """Stop the background anvil; its chain is saved to the state file."""
    info = node_mod.stop_background()
    emit({"stopped": info is not None, **(info or {})}, "stopped" if info else "no node was running")


@node_app.command("status")
def node_status() -> None:
    """Say whether the background anvil runs, and where."""
    info = node_mod.background_status()
    emit({"running": info is not None, **(info or {})}, f"running: {info['url']} (pid {info['pid']})" if info else "not running")
    if info is None and not state.json:
        raise typer.Exit(3)


# --- entry point -------------------------------------------------------------------


def main() -> None:
    """Run the CLI; turn library errors into one line and a non-zero exit code."""
    try:
        app(standalone_mode=False)
    except RwaError as exc:
        kind = "rejected" if isinstance(exc, ContractRevert) else "error"
        err.print(f"[red]{kind}:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except ClickException as exc:  # usage errors: unknown command, bad option value
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("RWA_DEBUG"):
            raise
        err.print(f"[red]internal error:[/] {type(exc).__name__}: {exc} (set RWA_DEBUG=1 for a traceback)", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
