"""A PostgreSQL server of the test's own: initdb and pg_ctl on a free port, trust auth.

The process tests stop and start the database in the middle of traffic; they do it
to this private server, never to the shared one on 5432. Its data lives in a
temporary folder owned by the `postgres` OS user when the tests run as root
(initdb refuses root), and everything is removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))
SERVER_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The private server could not be created or started; the message says why."""


def _bin_dir() -> Path:
    configured = os.environ.get("SUPPORTBOT_TEST_PG_BIN")
    candidates = [Path(configured)] if configured else list(BIN_DIRS)
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresUnavailable(
        f"no initdb/pg_ctl in {', '.join(map(str, candidates))} "
        "(install PostgreSQL or set SUPPORTBOT_TEST_PG_BIN)"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivatePostgres:
    """One server: ``start``/``stop``/``pause``; ``url(name)`` for a database in it."""

    root: Path
    port: int
    bin_dir: Path
    as_root: bool
    _databases: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout}"
            )
        return done

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "30", "start")  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, as when the server goes away."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def running(self) -> bool:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return subprocess.run(command, capture_output=True).returncode == 0

    def pause(self, seconds: float) -> threading.Thread:
        """Stop the server now and start it again ``seconds`` later, in the background.

        The returned thread ends once the server accepts connections again."""
        self.stop()

        def restart() -> None:
            time.sleep(seconds)
            self.start()

        thread = threading.Thread(target=restart, name="postgres-restart", daemon=True)
        thread.start()
        return thread

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database in this server; its SQLAlchemy URL."""
        import sqlalchemy

        with self._lock:
            self._databases += 1
            name = f"proc_{self._databases}"
        engine = sqlalchemy.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private server, stopped and deleted at the end; PostgresUnavailable
    (never a skip) when it cannot be had."""
    bin_dir = _bin_dir()
    as_root = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
    if as_root:
        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError as err:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable(f"running as root and no '{SERVER_USER}' user") from err
        os.chown(root, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(root, free_port(), bin_dir, as_root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
            if server.data.exists() and server.running():
                server.stop()
        shutil.rmtree(root, ignore_errors=True)
