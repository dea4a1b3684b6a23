"""Run the anvil binary that ships in the npm package ``@foundry-rs/anvil-linux-amd64``.

:class:`AnvilNode` starts anvil on a free 127.0.0.1 port, waits until it
answers JSON-RPC, and stops it by its own pid. With a ``state_file`` the chain
is loaded at start and (``dump_on_exit``) dumped when the node stops.
:func:`start_background` / :func:`stop_background` / :func:`background_status` back
``rwa node start|stop|status``: a detached anvil and beside it the state keeper of
:mod:`rwaledger.nodestate`, which replaces the state file atomically every second the
chain moved, so the chain survives a kill -9 of the node (at most the last second lost).
"""

from __future__ import annotations

import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import nodestate, paths
from .errors import NodeError

DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""The public development mnemonic anvil funds by default (never use it on a real network)."""

NODE_DIR = Path(os.environ.get("RWA_NODE_DIR") or paths.BUILD_DIR / "node")


def anvil_binary() -> str:
    """Path of the anvil executable: ``ANVIL_BINARY``, the npm package's, or one on PATH."""
    env = os.environ.get("ANVIL_BINARY")
    if env:
        return env
    npm = paths.NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    if npm.exists():
        return str(npm)
    found = shutil.which("anvil")
    if found:
        return found
    raise NodeError("anvil not found: run `npm ci` (it installs @foundry-rs/anvil-linux-amd64) or set ANVIL_BINARY")


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux's default when it cannot be read)."""
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port free on 127.0.0.1 now, chosen OUTSIDE the kernel's ephemeral range: a port from that range, once its
    node stops, can be taken at any moment by any process's outgoing connection, so a node restarted on it would
    find it "in use" (a flaky restart seen in CI)."""
    lo, hi = _ephemeral_range()
    pool = range(10_000, lo) if lo > 11_000 else range(hi + 1, 65_536)
    rng = random.SystemRandom()
    for _ in range(100):
        port = rng.choice(pool)
        if port_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # a crowded machine: any free port
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` now. Decided by binding (as anvil will, with
    SO_REUSEADDR: a closed connection in TIME_WAIT does not count), never by connecting: on Linux a connect to a
    free port of the ephemeral range can succeed by connecting to itself (TCP self-connect)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def rpc_answers(url: str, timeout: float = 1.0) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return "result" in json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM (anvil dumps its state file on it), then SIGKILL if it lingers."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # reap it if it is our child
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        if not nodestate.pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class AnvilNode:
    """One anvil process, owned by whoever started it."""

    port: int = 0
    state_file: Path | None = None
    chain_id: int = 31337
    accounts: int = 10
    block_time: float | None = None
    log_file: Path | None = None
    pid: int | None = None
    dump_on_exit: bool = True  # False: load state_file if it exists, never write it (the keeper writes it)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            anvil_binary(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--mnemonic", DEV_MNEMONIC,
            "--hardfork", "cancun",
            "--silent",
        ]  # fmt: skip
        if self.state_file and self.dump_on_exit:
            cmd += ["--state", str(self.state_file)]
        elif self.state_file and Path(self.state_file).exists():
            cmd += ["--load-state", str(self.state_file)]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        return cmd

    def start(self, timeout: float = 30.0, detach: bool = False) -> "AnvilNode":
        """Start anvil and return once it answers ``eth_chainId``."""
        if self.port == 0:
            self.port = free_port()
        if self.state_file:
            Path(self.state_file).parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )  # fmt: skip
        except OSError as exc:
            raise NodeError(f"cannot start anvil: {exc}") from None
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        self.pid = proc.pid
        self._proc = proc
        if not detach:  # a node this process started dies with it, even when nobody called stop()
            atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise NodeError(f"anvil exited with code {proc.returncode} before answering on {self.url}")
            if rpc_answers(self.url, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise NodeError(f"anvil did not answer on {self.url} within {timeout:g}s")

    def stop(self) -> None:
        if self.pid is not None:
            _terminate(self.pid)
            self.pid = None

    def __enter__(self) -> "AnvilNode":
        return self.start() if self.pid is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the background node behind `rwa node` ------------------------------------


def _pidfile(node_dir: Path) -> Path:
    return node_dir / "anvil.json"


def background_status(node_dir: Path = NODE_DIR) -> dict | None:
    """The running background node's {pid, port, url, state_file, keeper_running, last_dump}, or None."""
    try:
        info = json.loads(_pidfile(node_dir).read_text())
    except (OSError, ValueError):
        return None
    if not nodestate.pid_alive(int(info.get("pid", 0))) or not rpc_answers(info["url"]):
        return None
    info["keeper_running"] = bool(info.get("keeper_pid")) and nodestate.pid_alive(int(info["keeper_pid"]))
    last = nodestate.last_dump(Path(info["state_file"]))
    info["last_dump"] = {"block": last.block, "hash": last.hash, "at": last.at} if last else None
    return info


def start_background(node_dir: Path = NODE_DIR, port: int = 8545, state_file: Path | None = None,
                     interval: float = nodestate.DEFAULT_INTERVAL) -> dict:
    """Start a detached anvil that keeps its chain in ``state_file`` between runs, and its state keeper (a dump
    every ``interval`` seconds the chain moved). The answer says what was restored (``restored``: block and hash,
    or None for a new chain)."""
    running = background_status(node_dir)
    if running:
        return {**running, "already_running": True}
    node_dir.mkdir(parents=True, exist_ok=True)
    state = Path(state_file or node_dir / "state.json")
    if state.exists():
        nodestate.check_loadable(state)  # a torn or foreign file is named, never silently replaced by a new chain
    if not port_free(port):
        raise NodeError(f"port {port} is already in use; pick another with --port")
    node = AnvilNode(port=port, state_file=state, log_file=node_dir / "anvil.log", dump_on_exit=False).start(detach=True)
    restored = None
    if state.exists():
        number, block_hash = nodestate.head(node.url)
        restored = {"block": number, "hash": block_hash}
        recorded = nodestate.last_dump(state)
        if recorded is not None and (recorded.block, recorded.hash) != (number, block_hash):
            _terminate(int(node.pid))
            raise NodeError(f"{state} holds {recorded.describe()} but anvil restored block {number} "
                            f"({block_hash[:10]}...): the state did not load; the node was stopped")
    keeper = subprocess.Popen(
        [sys.executable, "-m", "rwaledger.nodestate", node.url, str(state), str(interval), str(node.pid)],
        stdout=subprocess.DEVNULL, stderr=open(node_dir / "keeper.log", "ab"), stdin=subprocess.DEVNULL,
        start_new_session=True, env={**os.environ, "PYTHONPATH": _package_root()},
    )  # fmt: skip
    info = {"pid": node.pid, "keeper_pid": keeper.pid, "port": node.port, "url": node.url, "state_file": str(state),
            "interval": interval}
    _pidfile(node_dir).write_text(json.dumps(info))
    return {**info, "already_running": False, "restored": restored}


def _package_root() -> str:
    """The directory holding the ``rwaledger`` package, first on the keeper's import path (a checkout's source root
    or site-packages), ahead of the caller's PYTHONPATH."""
    here = str(Path(__file__).resolve().parents[1])
    rest = os.environ.get("PYTHONPATH")
    return here + (os.pathsep + rest if rest else "")


def stop_background(node_dir: Path = NODE_DIR) -> dict | None:
    """Stop the background node: the keeper first, then a last dump of the whole chain, then anvil. None if none
    ran."""
    info = background_status(node_dir)
    if info is None:
        _pidfile(node_dir).unlink(missing_ok=True)
        return None
    if info.get("keeper_pid"):
        _terminate(int(info["keeper_pid"]))  # it finishes a dump in progress, then exits
    try:
        info["saved"] = nodestate.dump(info["url"], Path(info["state_file"])).describe()
    except NodeError:
        info["saved"] = None  # anvil no longer answers: the last whole dump on disk stands
    _terminate(int(info["pid"]))
    _pidfile(node_dir).unlink(missing_ok=True)
    deadline = time.monotonic() + 5.0  # the port is free again when this returns (a restart may reuse it at once)
    while not port_free(int(info["port"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    return info
