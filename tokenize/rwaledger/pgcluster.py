"""A throw-away PostgreSQL server for tests: ``initdb`` into a fresh directory, ``pg_ctl start`` on a free port
of 127.0.0.1, one database per test, ``pg_ctl stop`` and the directory removed at the end.

PostgreSQL refuses to run as root, and the suite and CI do run as root: then the cluster's directory is given to
the ``postgres`` user (the Debian package creates it) and ``initdb``/``pg_ctl`` run through ``runuser -u
postgres``. The binaries are looked up in ``RWA_PG_BIN``, then in the Debian package's directory
(``/usr/lib/postgresql/15/bin``, then another version's), then on ``PATH``. Durability is switched off
(``fsync``, ``full_page_writes``, ``synchronous_commit``): the cluster lives for one test session.

    with PgCluster.start(BUILD_DIR / f"pg-{os.getpid()}") as pg:
        url = pg.create_database("t1")   # postgresql+psycopg://rwa@127.0.0.1:PORT/t1
        ...
        pg.drop_database("t1")
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEBIAN_BIN = Path("/usr/lib/postgresql/15/bin")
USER = "rwa"  # the cluster's superuser (trust authentication, 127.0.0.1 only)
RUN_AS = "postgres"  # the system user the server runs as when we are root


class PgUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (binaries, the postgres user or the driver missing)."""


def find_bin_dir() -> Path:
    """The directory of ``initdb``, ``pg_ctl`` and ``postgres``; :class:`PgUnavailable` if there is none."""
    candidates = [Path(p) for p in (os.environ.get("RWA_PG_BIN"),) if p] + [DEBIAN_BIN]
    others = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if d != DEBIAN_BIN and d.parent.name.isdigit()]
    candidates += sorted(others, key=lambda d: -int(d.parent.name))  # another Debian version, newest first
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for d in candidates:
        if all(os.access(d / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return d
    raise PgUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        + ", ".join(str(d) for d in candidates)
        + " (install the Debian package postgresql-15, or set RWA_PG_BIN)"
    )


def _free_port() -> int:
    from .node import free_port  # outside the ephemeral range (see there)

    return free_port()


def _reachable_by_others(path: Path) -> bool:
    """Whether every directory above ``path`` lets another user through (the server runs as ``postgres``)."""
    for parent in path.resolve().parents:
        if parent.exists() and not os.stat(parent).st_mode & stat.S_IXOTH:  # missing ones: made with umask 022
            return False
    return True


@dataclass
class PgCluster:
    """A running server; :meth:`start` it, :meth:`stop` it (or use it as a context manager)."""

    root: Path  # ours: removed by stop()
    bin_dir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = USER
    run_as: str | None = None  # "postgres" when we are root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    # --- lifecycle ---------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, root: Path, bin_dir: Path | None = None, timeout: float = 60.0) -> "PgCluster":
        """initdb into ``root/data`` (``root`` must not exist; a temporary directory is used instead when the
        ``postgres`` user could not reach it, or its socket path would be too long) and start the server."""
        bin_dir = bin_dir or find_bin_dir()
        try:
            import psycopg  # noqa: F401  (the driver the ledger's URLs name)
        except ImportError as exc:
            raise PgUnavailable(f"the PostgreSQL driver psycopg is not installed ({exc})") from None
        run_as = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(RUN_AS)
            except KeyError:
                raise PgUnavailable(f"running as root and there is no {RUN_AS!r} user to run the server as") from None
            run_as = RUN_AS
        root = Path(root).absolute()  # the tools run with the cluster directory as their working directory
        if (run_as and not _reachable_by_others(root)) or len(str(root)) > 80:  # a socket path has <= 107 bytes
            root = Path(tempfile.mkdtemp(prefix="rwa-pg-"))
        else:
            root.mkdir(parents=True)
        cluster = cls(root=root, bin_dir=bin_dir, port=0, run_as=run_as)
        try:
            if run_as:
                os.chown(root, pw.pw_uid, pw.pw_gid)
            cluster._run("initdb", "-D", str(cluster.data_dir), "-A", "trust", "-U", USER, "-E", "UTF8",
                         "--no-locale", "--no-sync", timeout=timeout)
            for attempt in range(5):  # another process may take the free port before the server binds it
                cluster.port = _free_port()
                opts = (f"-p {cluster.port} -h {cluster.host} -k {shlex.quote(str(root))} "
                        "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
                proc = cluster._run("pg_ctl", "-D", str(cluster.data_dir), "-o", opts, "-l", str(root / "log"),
                                    "-w", "-t", str(int(timeout)), "start", check=False, timeout=timeout + 10)
                if proc.returncode == 0:
                    break
                log = cluster.log()
                if "could not bind" not in log and "already in use" not in log:
                    raise RuntimeError(f"pg_ctl start failed ({proc.returncode}): {proc.stdout}{proc.stderr}\n{log}")
            else:
                raise RuntimeError(f"PostgreSQL did not start on a free port:\n{cluster.log()}")
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop``, or its postmaster pid if that fails) and remove the directory."""
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            proc = self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop",
                             check=False, timeout=60)
            if proc.returncode != 0 and pid_file.exists():
                try:
                    pid = int(pid_file.read_text().split()[0])
                    os.kill(pid, 9)  # the postmaster we started; its children exit when it does
                    time.sleep(0.5)
                except (OSError, ValueError, IndexError):
                    pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PgCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        try:
            return (self.root / "log").read_text(errors="replace")
        except OSError:
            return ""

    def _run(self, tool: str, *args: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess:
        cmd = [str(self.bin_dir / tool), *args]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        # cwd: a directory the server's user can read (initdb and pg_ctl complain about an unreadable one)
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env={**os.environ, "LC_ALL": "C"})
        if check and proc.returncode != 0:
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
        return proc

    # --- databases ---------------------------------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (driver psycopg 3)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def _admin(self):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True)

    def create_database(self, name: str) -> str:
        """A new empty database ``name``; returns its URL."""
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing any connection a test left open to it."""
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
