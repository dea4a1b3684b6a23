"""`rwa serve --demo`: with nothing configured, a private anvil with the demo on it, served over HTTP."""

import json
import subprocess
import sys
import time
import urllib.request

from rwaledger import node


def test_serve_demo_needs_nothing_configured(root, tmp_path):
    port = node.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rwaledger.cli", "serve", "--demo", "--port", str(port)],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, assets = time.time() + 120, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/assets", timeout=2) as r:
                    assets = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert assets is not None, proc.communicate(timeout=5) if proc.poll() is not None else "no answer"
        assert [a["symbol"] for a in assets] == ["LHR-GH12B", "KHI-GOLD"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/assets/LHR-GH12B/cap-table", timeout=5) as r:
            page = json.loads(r.read())
        assert page["holders"] == 6 and page["total_supply"] == "10000"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as r:
            status = json.loads(r.read())
        assert status["follower_running"] is True and status["role"] == "leader"  # alone on its ledger: it writes
        (anvil,) = _children(proc.pid, "anvil")  # the demo's private chain
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # SIGTERM stops the server and its anvil (uvicorn raised SIGTERM again after its shutdown, with the default
    # handler: the process died before its `finally`, and every run of the suite left an anvil behind)
    deadline = time.time() + 10
    while _alive(anvil) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(anvil)
    assert proc.returncode == 128 + 15


def _children(pid: int, name: str) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line.split()[1:] == [name]]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead: only its parent has not reaped it
    except OSError:
        return False
