"""The local node's chain on disk, kept across a kill -9: the state keeper of ``rwa node``.

anvil writes its ``--state`` file only on a clean exit, and with ``--state-interval`` it rewrites the file in place:
a kill -9 during that write leaves a torn file that anvil cannot load (measured: the second of two kills tore a
5.7 MB state, README "A local node that lasts between commands"). So ``rwa node`` does not let anvil write the file.
A small keeper process beside it asks anvil for its state (``anvil_dumpState``) every ``interval`` seconds when the
head has moved, and replaces the file atomically (write a temporary file, fsync, rename, fsync the directory): the
file on disk is always a whole dump, at most ``interval`` seconds behind the chain. A sidecar ``<state>.meta.json``
says which block (number and hash) that dump holds, and when it was written; ``rwa node start`` says what it
restored.

Run as ``python -m rwaledger.nodestate URL STATE_FILE INTERVAL ANVIL_PID``; it exits when anvil is gone.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import NodeError

DEFAULT_INTERVAL = 1.0
"""Seconds between dumps: a kill -9 of the node loses at most the blocks of the last interval."""


@dataclass(frozen=True)
class Dump:
    """What one state dump holds."""

    block: int
    hash: str
    at: float  # unix time the dump was written

    def describe(self) -> str:
        return f"block {self.block} ({self.hash[:10]}...)"


def rpc(url: str, method: str, params: list | None = None, timeout: float = 30.0):
    """One JSON-RPC call; a node that does not answer or answers an error raises :class:`NodeError`."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise NodeError(f"the node at {url} did not answer {method}: {exc}") from None
    if "error" in answer:
        raise NodeError(f"the node at {url} refused {method}: {answer['error'].get('message', answer['error'])}")
    return answer["result"]


def head(url: str) -> tuple[int, str]:
    """(number, hash) of the node's latest block."""
    block = rpc(url, "eth_getBlockByNumber", ["latest", False], timeout=5.0)
    return int(block["number"], 16), block["hash"]


def meta_file(state_file: Path) -> Path:
    return state_file.with_name(state_file.name + ".meta.json")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)


ATTEMPTS = 50
"""Dumps tried before giving up on one that no block raced (each a few ms to ~100 ms; blocks come in bursts)."""


def dump(url: str, state_file: Path, attempts: int = ATTEMPTS) -> Dump:
    """Write the node's whole state to ``state_file`` atomically (and its meta sidecar); what it holds.

    ``anvil_dumpState`` is not atomic: a block mined while it runs can be in the dumped account state but not in
    its block list, so the restored chain has balances without the blocks, transactions and logs that made them
    (measured: 2 of 38 dumps taken during a batch mint restored a supply above what their Transfer logs add up to;
    a ledger synced on such a node is short). A dump is kept only when the head is the same block before and after
    it and is the block the dump names; otherwise it is taken again. :class:`NodeError` when no attempt is clean
    (the file on disk is left as it was: an older but whole dump)."""
    for _ in range(attempts):
        before = head(url)
        raw = rpc(url, "anvil_dumpState", timeout=120.0)
        after = head(url)
        data = gzip.decompress(bytes.fromhex(raw.removeprefix("0x")))
        held = int(json.loads(data).get("best_block_number", before[0]))
        if before == after and held == before[0]:
            _write_atomic(state_file, data)
            done = Dump(block=before[0], hash=before[1], at=time.time())
            _write_atomic(meta_file(state_file), json.dumps(asdict(done)).encode())
            return done
        time.sleep(0.002)
    raise NodeError(f"the node at {url} mined a block during each of {attempts} state dumps: none kept "
                    f"({state_file} left as it was)")


def last_dump(state_file: Path) -> Dump | None:
    """What the state file on disk holds, from its sidecar; None when there is no state file."""
    if not state_file.exists():
        return None
    try:
        return Dump(**json.loads(meta_file(state_file).read_text()))
    except (OSError, ValueError, TypeError):
        return None  # a state file from anvil's own dump (an older rwa node): it loads, its block is read after


def check_loadable(state_file: Path) -> None:
    """Refuse a state file anvil could not load, naming it (anvil would start an empty chain or fail)."""
    try:
        with open(state_file, "rb") as f:
            json.load(f)
    except OSError as exc:
        raise NodeError(f"cannot read the node's state file {state_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise NodeError(f"the node's state file {state_file} is not a whole state dump ({exc}); it was not written "
                        "by rwa node's keeper: move it away to start a new chain") from None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def keep(url: str, state_file: Path, interval: float, anvil_pid: int) -> None:
    """Dump whenever the head moved, every ``interval`` seconds, until anvil is gone or SIGTERM arrives."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    last = last_dump(state_file)
    seen = (last.block, last.hash) if last else None
    while not stopping and pid_alive(anvil_pid):
        try:
            now = head(url)
            if now != seen:
                seen = (d := dump(url, state_file)).block, d.hash
        except NodeError:
            pass  # anvil is stopping or busy: the next round tries again, the file on disk stays whole
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.05, interval))


if __name__ == "__main__":  # python -m rwaledger.nodestate URL STATE INTERVAL ANVIL_PID
    keep(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
