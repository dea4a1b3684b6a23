"""Issue 12 (speed): the ``rwa`` console script runs commands in a fork of a warm command server
(:mod:`rwaledger.cmdserver`). A command through the server must behave exactly as a direct run: the caller's
arguments, environment, working directory and streams, its exit code; killing or interrupting ``rwa`` stops the
command; a dead server or an unsafe socket directory falls back to a direct run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rwaledger import cmdserver

pytestmark = pytest.mark.skipif(not cmdserver.enabled([]), reason="needs Unix sockets and fork")


@pytest.fixture()
def home():
    """A script like the installed ``rwa`` in a directory of its own, and a private socket directory (short: a
    Unix socket path holds 108 bytes)."""
    root = Path(tempfile.mkdtemp(prefix="rwacmd-"))
    bin_dir, sockets = root / "bin", root / "s"
    bin_dir.mkdir()
    script = bin_dir / "rwa"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom rwaledger.cmdserver import main\nsys.exit(main())\n")
    script.chmod(0o755)
    env = {**os.environ, "RWA_CMD_DIR": str(sockets), "RWA_CMD_SERVER_IDLE": "60",
           "RWA_NODE_DIR": str(root / "node"), "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    env.pop("RWA_CMD_SERVER", None)
    yield {"root": root, "script": str(script), "env": env, "sockets": sockets}
    cmdserver.stop_servers(sockets)


def _server_pids(sockets: Path) -> list[int]:
    return cmdserver.servers(sockets)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _log(home) -> list[str]:
    log = home["sockets"] / "server.log"
    return log.read_text().splitlines() if log.exists() else []


def run(home, *args, env=None, cwd=None, direct=False):
    e = {**home["env"], **(env or {})}
    if direct:
        e["RWA_CMD_SERVER"] = "0"
    return subprocess.run([home["script"], *args], env=e, cwd=cwd or home["root"], capture_output=True, text=True,
                          timeout=120)


def _wait(what, check, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def warm(home, env=None):
    """Run once (direct, which starts the server) and wait for the server to listen."""
    run(home, "--help", env=env)
    _wait("the command server", lambda: any(home["sockets"].glob("*.sock")) and _server_pids(home["sockets"]))


def served(home, command: str) -> int:
    """How many runs of ``command`` the server accepted: its log records each before the fork, so the count is
    final once the client has returned (the reap, and the line with the exit code, may come later)."""
    return sum(1 for line in _log(home) if line.split()[1:] == ["run", command])


def ended(home, command: str) -> list[int]:
    """The exit codes of the runs of ``command`` the server has reaped, in order."""
    return [int(w[5]) for w in (line.split() for line in _log(home))
            if w[1:2] == ["pid"] and w[3] == command and w[4] == "rc"]


def test_a_command_through_the_server_is_a_direct_run(home):
    warm(home)
    for args in (["--json", "node", "status"], ["frobnicate"], ["--help"], ["ledger", "--help"]):
        name = next((a for a in args if not a.startswith("-")), "--help")
        before = served(home, name)
        via, direct = run(home, *args), run(home, *args, direct=True)
        assert (via.returncode, via.stdout, via.stderr) == (direct.returncode, direct.stdout, direct.stderr), args
        assert served(home, name) == before + 1, args  # through the server (the direct run is not in its log)
    status = run(home, "--json", "node", "status")
    assert status.returncode == 1 and json.loads(status.stdout) == {"running": False}  # node status: 1 when down
    assert run(home, "frobnicate").returncode == 2  # usage error


def test_the_callers_environment_and_directory_reach_the_command(home):
    warm(home)
    narrow, wide = run(home, "--help", env={"COLUMNS": "60"}), run(home, "--help", env={"COLUMNS": "150"})
    assert max(map(len, narrow.stdout.splitlines())) <= 60 < max(map(len, wide.stdout.splitlines()))
    assert narrow.stdout == run(home, "--help", env={"COLUMNS": "60"}, direct=True).stdout
    work = home["root"] / "work"
    work.mkdir()
    done = run(home, "officer", "list", "--db", "sub/ledger.sqlite", cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "sub" / "ledger.sqlite").exists()  # resolved against the caller's directory, not the server's
    assert served(home, "officer") == 1


def test_settings_read_at_import_get_a_server_of_their_own(home):
    """``RWA_NODE_DIR`` is read when rwaledger.node is imported (the server preloads it): another value is another
    server, never a child of one set up for the first."""
    warm(home)
    first = set(home["sockets"].glob("*.sock"))
    other = str(home["root"] / "other-node")
    run(home, "--help", env={"RWA_NODE_DIR": other})
    _wait("a second server", lambda: len(set(home["sockets"].glob("*.sock")) - first) == 1)
    _wait("it to listen", lambda: len(_server_pids(home["sockets"])) == 2)
    key = cmdserver.server_key(env={**home["env"], "RWA_NODE_DIR": other})
    assert key != cmdserver.server_key(env=home["env"])
    assert key == cmdserver.server_key(env={**home["env"], "RWA_NODE_DIR": other, "RWA_PRIVATE_KEY": "0x01"}), \
        "a secret must never be part of the socket's name"


@pytest.fixture()
def silent_node():
    """A JSON-RPC URL that accepts connections and never answers: a command using it blocks."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held = []

    def accept():
        while True:
            try:
                held.append(srv.accept()[0])
            except OSError:
                return

    import threading

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    srv.close()
    for c in held:
        c.close()


def _blocked(home, url):
    proc = subprocess.Popen([home["script"], "ledger", "sync", "-n", url, "--db", str(home["root"] / "l.sqlite")],
                            env=home["env"], cwd=home["root"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc


def _children(home) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", ",".join(map(str, _server_pids(home["sockets"])))],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_kill_9_of_rwa_stops_its_command(home, silent_node):
    warm(home)
    proc = _blocked(home, silent_node)
    _wait("a child of the server", lambda: _children(home))
    (child,) = _children(home)
    time.sleep(0.3)
    assert proc.poll() is None and _alive(child)  # blocked on the silent node
    proc.kill()
    proc.wait()
    _wait("the child to die with its client", lambda: not _alive(child), timeout=5)
    _wait("the server to reap it", lambda: ended(home, "ledger"), timeout=5)
    assert served(home, "ledger") == 1 and ended(home, "ledger") == [137]  # SIGKILL, as the client had


def test_ctrl_c_reaches_the_command(home, silent_node):
    warm(home)
    proc = _blocked(home, silent_node)
    _wait("a child of the server", lambda: _children(home))
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=10)
    assert rc != 0 and served(home, "ledger") == 1
    _wait("the server to reap it", lambda: ended(home, "ledger"), timeout=5)
    assert ended(home, "ledger") == [rc] and not _children(home)


def test_a_run_is_recorded_before_the_server_has_reaped_it(home, silent_node):
    """A CI failure: the log's only line per command was written at the reap, after the child had already sent
    its client the exit code, so a caller reading the log just after ``rwa`` returned could miss its run. Here
    the server is stopped (SIGSTOP) while the command runs: the client still gets its answer from the child, and
    the log must already record the run."""
    warm(home)
    (server,) = _server_pids(home["sockets"])
    proc = _blocked(home, silent_node)
    _wait("a child of the server", lambda: _children(home))
    time.sleep(0.3)
    os.kill(server, signal.SIGSTOP)
    try:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=10)  # answered by the child itself: the stopped server reaps nothing
        assert rc != 0
        assert served(home, "ledger") == 1 and ended(home, "ledger") == []
    finally:
        os.kill(server, signal.SIGCONT)
    _wait("the server to reap it", lambda: ended(home, "ledger") == [rc], timeout=5)


def test_a_dead_server_falls_back_to_a_direct_run_and_is_replaced(home):
    warm(home)
    (pid,) = _server_pids(home["sockets"])
    os.kill(pid, signal.SIGKILL)
    _wait("the server to die", lambda: not _alive(pid))
    done = run(home, "--json", "node", "status")  # the socket file is left behind: refused, run here
    assert done.returncode == 1 and json.loads(done.stdout) == {"running": False}
    _wait("a new server", lambda: _server_pids(home["sockets"]))
    assert served(home, "node") == 0
    run(home, "--json", "node", "status")
    assert served(home, "node") == 1


def test_no_server_in_a_directory_others_can_open(home):
    home["sockets"].mkdir(mode=0o755)
    os.chmod(home["sockets"], 0o755)
    done = run(home, "--json", "node", "status")
    assert done.returncode == 1
    time.sleep(1.0)
    assert not list(home["sockets"].glob("*.sock")) and not _log(home)


def test_serve_runs_in_the_callers_process(home):
    warm(home)
    done = run(home, "serve", "--help")
    assert done.returncode == 0 and "serve" in done.stdout
    assert served(home, "serve") == 0


def test_a_child_ends_as_the_interpreter_would(tmp_path):
    """The child skips the interpreter's teardown (0.2 s of a large heap) but not what it promises: non-daemon
    threads joined, atexit handlers run (a command's own anvil is stopped by one), output flushed, the code kept."""
    script = f"""
import atexit, os, sys, threading, time
from pathlib import Path
from rwaledger import cmdserver
out = Path({str(tmp_path)!r})
pid = os.fork()
if pid == 0:
    atexit.register(lambda: (out / "atexit").write_text("ran"))
    threading.Thread(target=lambda: (time.sleep(0.3), (out / "thread").write_text("done"))).start()
    sys.stdout.write("buffered, not yet written")
    cmdserver._exit(3)
_, status = os.waitpid(pid, 0)
print("", os.waitstatus_to_exitcode(status))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    assert done.stdout == "buffered, not yet written 3\n", done.stderr
    assert (tmp_path / "atexit").read_text() == "ran" and (tmp_path / "thread").read_text() == "done"


def test_a_keystore_without_its_password_runs_in_the_callers_process(home, tmp_path):
    """Only the process holding the terminal can prompt for a password without echoing it."""
    warm(home)
    args = ["mint", "LHR", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "1", "-n", "http://127.0.0.1:9",
            "--keystore", str(tmp_path / "none.json")]
    assert run(home, *args).returncode == 1  # the node is down: refused in one line either way
    assert served(home, "mint") == 0
    assert run(home, *args, env={"RWA_KEYSTORE_PASSWORD": "pw"}).returncode == 1  # given: no prompt, served
    assert served(home, "mint") == 1
