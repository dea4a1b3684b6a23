"""The ``rwa`` command's warm start: a per-user command server, as Mercurial's ``chg`` does for ``hg``.

Importing the chain libraries costs more than most commands do (``import web3`` alone is ~0.75 s of CPU here, most
of it ``eth_account`` -> ``eth_keyfile`` -> ``py_ecc``'s BLS curves, which nothing here uses), so a command that
talks to the chain could not start in under 0.5 s however lean its own code. The ``rwa`` console script is this
module's :func:`main`, a client that imports only the standard library:

* it connects to a **command server** on a Unix socket in a directory only this user can open
  (``$RWA_CMD_DIR``, default ``/tmp/rwa-cmd-<uid>``), named by a hash of the Python executable, ``sys.path``
  and the modification times of those directories (a venv change or a new PYTHONPATH is another server);
* it sends its arguments, environment, working directory and umask, and passes its stdin, stdout and stderr
  themselves (``SCM_RIGHTS``), so output goes straight to the terminal or pipe and ``isatty`` answers as usual;
* the server, which has imported the heavy third-party libraries once (:data:`PRELOAD`, none of them ours and
  none keeping the environment at import), **forks** a child per command; the child takes on the client's
  environment, directory, umask, ``sys.path`` and file descriptors, imports ``rwaledger`` fresh (so code or
  ``RWA_*`` settings are never stale) and runs :func:`rwaledger.cli.main` as a direct run would;
* the client forwards SIGINT, SIGTERM and SIGHUP to the child, and exits with the child's code (128 + N when
  the child died of signal N). If the client dies (a kill -9 included) the child sees its socket close and
  kills itself: killing ``rwa`` stops the command, as it does without the server.

With no server yet (or ``RWA_CMD_SERVER=0``, or no Unix sockets, or ``rwa serve``), the command runs in the
client's own process, exactly as ``python -m rwaledger.cli``, and a server is started in the background for the
next command. The server exits after ``RWA_CMD_SERVER_IDLE`` seconds (default 900) without a command. It logs two
lines per command to ``server.log`` beside its socket, never arguments or environment: the command's name when it
is accepted (written before the fork, so it is on disk before the command can answer its client) and the child's
pid, name and exit code when the child is reaped (which may be after the client has its answer).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path

#: What the server imports once for every command: the slow third-party imports (measured with
#: ``python -X importtime``) and rwaledger's own modules. The server is keyed by everything they read at import
#: (:func:`server_key`), so a child never sees a module set up for another configuration or older code.
PRELOAD = ("web3", "eth_account", "eth_abi", "eth_utils", "eth_keys", "sqlalchemy", "pydantic", "requests",
           "hexbytes", "pycountry", "rwaledger.cli", "rwaledger.chain", "rwaledger.session", "rwaledger.signers",
           "rwaledger.stack", "rwaledger.services", "rwaledger.ledger", "rwaledger.transactions", "rwaledger.render")
#: Environment variables read at import by rwaledger (``paths``, ``node``) or by typer and rich; secrets are never
#: part of the key (:data:`SECRET_WORDS`).
KEY_ENV_PREFIXES = ("RWA_", "TYPER_", "_TYPER_")
KEY_ENV_NAMES = frozenset({"TERMINAL_WIDTH", "FORCE_COLOR", "PY_COLORS", "NO_COLOR", "GITHUB_ACTIONS"})
SECRET_WORDS = ("KEY", "PASSWORD", "SECRET", "TOKEN")
#: Commands that run in the client's process: long-running servers gain nothing from a warm start.
DIRECT = frozenset({"serve"})
DEFAULT_IDLE_S = 900.0
LOG_LIMIT = 1 << 20  # bytes of server.log a starting server keeps
_HEADER = struct.Struct("!I")
_client: socket.socket | None = None  # in a child: the connection to its client
_ending = False  # in a child: its code is sent, the client may close


# --- client -------------------------------------------------------------------------------------------------------


def main() -> None:
    """The ``rwa`` console script: run the command through the command server, or in this process."""
    args = sys.argv[1:]
    if enabled(args):
        rc = run_via_server(args)
        if rc is not None:
            sys.exit(rc)
    from .cli import main as cli_main

    cli_main()


def enabled(args: list[str]) -> bool:
    if os.environ.get("RWA_CMD_SERVER", "1").strip().lower() in ("0", "no", "false", "off"):
        return False
    if not hasattr(socket, "AF_UNIX") or not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        return False
    keystore = any(a == "--keystore" or a.startswith("--keystore=") for a in args)
    if keystore and not os.environ.get("RWA_KEYSTORE_PASSWORD"):
        return False  # it may ask for the password: only a process with the terminal can read it without echo
    return not any(a in DIRECT for a in args if not a.startswith("-"))


def socket_dir() -> Path | None:
    """The user's private directory for servers, created 0700; None when it is not ours alone (then no server)."""
    d = Path(os.environ.get("RWA_CMD_DIR") or f"/tmp/rwa-cmd-{os.getuid()}")
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = d.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # someone else could listen there: never send them our environment
    return d


def server_key(path: list[str] | None = None, env: dict[str, str] | None = None) -> str:
    """A server per interpreter, import path (and the installed state of those directories), version of
    rwaledger's files and the settings its modules read at import."""
    path = [os.path.abspath(p) for p in (sys.path if path is None else path)]
    env = os.environ if env is None else env
    mtimes = []
    for p in path:
        try:
            mtimes.append(os.stat(p).st_mtime_ns)
        except OSError:
            mtimes.append(None)
    package = Path(__file__).resolve().parent
    files = sorted((str(f.relative_to(package)), f.stat().st_mtime_ns, f.stat().st_size)
                   for f in package.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    settings = sorted((k, v) for k, v in env.items()
                      if (k.startswith(KEY_ENV_PREFIXES) or k in KEY_ENV_NAMES)
                      and not _secret(k))
    blob = json.dumps([sys.executable, sys.version, path, mtimes, files, settings])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _secret(name: str) -> bool:
    return any(w in name.upper() for w in SECRET_WORDS)


def socket_path() -> Path | None:
    d = socket_dir()
    if d is None:
        return None
    p = d / f"{server_key()}.sock"
    return p if len(os.fsencode(p)) < 100 else None  # sun_path holds 108 bytes


def run_via_server(args: list[str]) -> int | None:
    """Run ``rwa args`` in a child of the server and return its exit code; None when no server took it (nothing
    ran: the caller runs the command itself). Once the server has acknowledged, the command is its, and this
    never returns None."""
    path = socket_path()
    if path is None:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        start_server(path)
        return None
    stdio = [fd if _valid_fd(fd) else os.open(os.devnull, os.O_RDWR) for fd in (0, 1, 2)]
    umask = os.umask(0)
    os.umask(umask)
    header = json.dumps({"argv": args, "env": dict(os.environ), "cwd": os.getcwd(), "umask": umask,
                         "path": sys.path, "argv0": sys.argv[0]}).encode()
    try:
        data = _HEADER.pack(len(header)) + header
        sent = socket.send_fds(sock, [data], stdio)
        if sent < len(data):
            sock.sendall(data[sent:])
        reader = sock.makefile("rb")
        ack = reader.readline()
    except OSError:
        sock.close()
        return None
    if not ack:
        sock.close()
        return None  # the server went away before forking a child for us: nothing ran
    return _wait(sock, reader)


def _wait(sock: socket.socket, reader) -> int:
    def forward(signum, _frame):
        try:
            sock.sendall(json.dumps({"signal": signum}).encode() + b"\n")
        except OSError:
            pass

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, forward)
    while True:
        try:
            line = reader.readline()
        except InterruptedError:
            continue
        if not line:
            return 1  # the server died under the command: say it failed rather than hang
        msg = json.loads(line)
        if "rc" in msg:
            return int(msg["rc"])


def _valid_fd(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def start_server(path: Path) -> None:
    """Start a server on ``path`` in the background, detached (its own session, no terminal)."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not _secret(k)}  # a child gets its client's; the server none
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
    try:
        # -c, not -m: click names the program after the main module's package (a direct run's is the script)
        subprocess.Popen([sys.executable, "-c", "import sys; from rwaledger.cmdserver import serve; serve(sys.argv[1])",
                          str(path)], env=env, start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         close_fds=True)
    except OSError:
        pass  # no server: every command runs on its own, as before


def servers(directory: Path | str | None = None) -> list[int]:
    """The pids of the live servers whose log is in ``directory`` (default: this user's socket directory)."""
    d = Path(directory) if directory is not None else socket_dir()
    try:
        lines = (d / "server.log").read_text().splitlines() if d is not None else []
    except OSError:
        return []
    pids = {int(w[2]) for w in (line.split() for line in lines) if len(w) > 3 and w[1] == "server"}
    alive = []
    for pid in sorted(pids):
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except OSError:
            pass
    return alive


def stop_servers(directory: Path | str | None = None) -> int:
    """Stop the servers of ``directory`` (SIGTERM); how many were running."""
    pids = servers(directory)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    return len(pids)


# --- server -------------------------------------------------------------------------------------------------------


def serve(path: Path | str, idle: float | None = None) -> None:
    """Serve commands on ``path`` until ``idle`` seconds pass with no command and no child running."""
    import fcntl
    import selectors

    path = Path(path)
    idle = float(os.environ.get("RWA_CMD_SERVER_IDLE", DEFAULT_IDLE_S)) if idle is None else idle
    lock = open(f"{path}.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server owns this socket
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a missing optional library only costs its import later
            pass
    with contextlib.suppress(OSError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    os.chdir("/")  # pin no directory of the first client's (children take their own client's)
    log_path = path.with_name("server.log")
    with contextlib.suppress(OSError):
        if log_path.stat().st_size > LOG_LIMIT:
            log_path.unlink()  # one line per command: start again rather than grow without end
    log = open(log_path, "a", buffering=1)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, _stop)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    children: dict[int, tuple[socket.socket, str]] = {}
    last = time.monotonic()
    log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} server {os.getpid()} listening\n")
    while True:
        events = sel.select(timeout=max(idle / 4, 0.05))
        for key, _ in events:
            if key.data == "wake":
                with contextlib.suppress(OSError):
                    os.read(wake_r, 4096)
            else:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                last = time.monotonic()
                child = _fork(conn, listener, sel, lock, log, wake_r, wake_w)
                if child is not None:
                    children[child[0]] = (conn, child[1])
        _reap(children, log)
        if not children and time.monotonic() - last > idle:
            log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} server {os.getpid()} idle, exiting\n")
            with contextlib.suppress(OSError):
                os.unlink(path)
            return


def _stop(_signum, _frame) -> None:
    raise SystemExit(0)


def _fork(conn, listener, sel, lock, log, wake_r, wake_w) -> tuple[int, str] | None:
    conn.settimeout(10)
    try:
        head = _recv_exact_with_fds(conn, _HEADER.size)
        if head is None:
            conn.close()
            return None
        (size,), fds = _HEADER.unpack(head[0]), head[1]
        body = _recv_exact_with_fds(conn, size)
        if body is None or len(fds) != 3:
            for fd in fds + (body[1] if body else []):
                os.close(fd)
            conn.close()
            return None
        request = json.loads(body[0])
    except (OSError, ValueError):
        conn.close()
        return None
    conn.settimeout(None)
    command = next((a for a in request["argv"] if not a.startswith("-")), "--help")
    # logged before the fork: the child may answer its client before the server reaps it and logs its code
    log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} run {command}\n")
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        return pid, command
    # the child: it runs the command and never returns into the server loop
    sel.close()
    listener.close()
    lock.close()
    log.close()
    signal.set_wakeup_fd(-1)
    os.close(wake_r)
    os.close(wake_w)
    _exit(_child(conn, fds, request))


def _child(conn: socket.socket, fds: list[int], request: dict) -> int | str | None:
    """Become the client's process and run its command; the exit code (never raises: a child must not go back
    into the server's loop)."""
    try:
        _become(conn, fds, request)
    except BaseException as exc:  # noqa: BLE001 - e.g. the client's directory is gone
        os.write(2, f"rwa: {type(exc).__name__}: {exc}\n".encode())
        return 1
    try:
        from .cli import main as cli_main

        cli_main()
        return 0
    except SystemExit as exc:
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BaseException:  # noqa: BLE001 - as an uncaught exception of a direct run: its traceback, exit 1
        import traceback

        traceback.print_exc()
        return 1


def _become(conn: socket.socket, fds: list[int], request: dict) -> None:
    import threading

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in zip((0, 1, 2), fds):
        os.dup2(fd, target)
        os.close(fd)
    enc = request["env"].get("PYTHONIOENCODING", "utf-8").split(":")[0] or "utf-8"
    sys.stdin = open(0, "r", encoding=enc, closefd=False)
    sys.stdout = open(1, "w", encoding=enc, closefd=False, buffering=1 if os.isatty(1) else -1)
    sys.stderr = open(2, "w", encoding=enc, errors="backslashreplace", closefd=False, buffering=1)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    os.umask(int(request["umask"]))
    sys.path[:] = request["path"]
    sys.argv = [request.get("argv0") or "rwa", *request["argv"]]

    def watch() -> None:  # the client's signals; its death (socket closed) ends the command
        reader = conn.makefile("rb")
        for line in reader:
            with contextlib.suppress(OSError):
                os.kill(os.getpid(), int(json.loads(line)["signal"]))
        if not _ending:
            os.kill(os.getpid(), signal.SIGKILL)

    global _client
    conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    _client = conn
    threading.Thread(target=watch, daemon=True).start()
    from . import cli

    cli.open_consoles()  # imported by the server with its /dev/null streams: write to the client's


def _exit(code: int | str | None) -> None:
    """End the child as the interpreter's own exit would (non-daemon threads joined, atexit handlers run: a
    started anvil is stopped; output flushed) but without tearing down every module of a large heap, which costs
    ~0.2 s here; multiprocessing's forked children end the same way."""
    import atexit
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    try:
        for t in threading.enumerate():
            if t is not threading.main_thread() and not t.daemon:
                t.join()
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        global _ending
        _ending = True
        if _client is not None:  # the code now, not after the server reaps us: the client is done at once
            with contextlib.suppress(OSError):
                _client.sendall(json.dumps({"rc": status & 0xFF}).encode() + b"\n")
        os._exit(status & 0xFF)


def _reap(children: dict, log) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn, command = children.pop(pid, (None, "?"))
        rc = os.waitstatus_to_exitcode(status)
        rc = 128 - rc if rc < 0 else rc
        log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} pid {pid} {command} rc {rc}\n")
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"rc": rc}).encode() + b"\n")
            conn.close()


def _recv_exact_with_fds(conn: socket.socket, size: int) -> tuple[bytes, list[int]] | None:
    data, fds = b"", []
    while len(data) < size:
        chunk, more, _flags, _addr = socket.recv_fds(conn, size - len(data), 3)
        if not chunk:
            for fd in fds + more:
                os.close(fd)
            return None
        data += chunk
        fds += more
    return data, fds


if __name__ == "__main__":
    serve(sys.argv[1])
