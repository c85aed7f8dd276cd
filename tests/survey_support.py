"""Helpers of the survey tests: a private PostgreSQL cluster, real survey clips made once, a small survey.

PostgreSQL: ``initdb`` a cluster in a temp folder and start it with ``pg_ctl`` on a free loopback port,
as the ``postgres`` user when the tests run as root (PostgreSQL refuses root). Binaries are looked up on
PATH, then in Debian's ``/usr/lib/postgresql/<version>/bin``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

SKIP_NO_PG = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql package "
              "(scripts/system-deps.sh does)")


def pg_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throw-away cluster; ``new_database()`` gives each test an empty database."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="tunelab-pg-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self._n = 0

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    @classmethod
    def start(cls, durable: bool = False) -> PostgresServer:
        """Start a cluster; RuntimeError with the reason when it cannot be done here.

        Not ``durable`` (the tests): no fsync and asynchronous commit, for speed; transactions, locks and
        constraints behave exactly as on a durable server. ``durable``: PostgreSQL's defaults (benchmarks).
        """
        bin_dir = pg_bin_dir()
        if bin_dir is None:
            raise RuntimeError(SKIP_NO_PG)
        server = cls(bin_dir)
        if server.as_postgres:
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root without runuser: cannot start PostgreSQL as another user")
            shutil.chown(server.dir, "postgres", "postgres")
        data = str(server.dir / "data")
        proc = server._run(str(bin_dir / "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync",
                           "-E", "UTF8", "--locale", "C")
        if proc.returncode:
            raise RuntimeError(f"initdb failed: {proc.stderr.strip()[-300:]}")
        options = f"-p {server.port} -k {server.dir} -c listen_addresses=127.0.0.1 -c max_connections=60"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        proc = server._run(str(bin_dir / "pg_ctl"), "-D", data, "-o", options, "-l", str(server.dir / "log"),
                           "-w", "-t", "60", "start")
        if proc.returncode:
            log = (server.dir / "log").read_text() if (server.dir / "log").exists() else ""
            server.stop()
            raise RuntimeError(f"pg_ctl start failed: {(proc.stderr + log).strip()[-300:]}")
        return server

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._n += 1
        name = f"survey_{os.getpid()}_{self._n}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@lru_cache(maxsize=1)
def real_clips(excerpt_seconds: float = 4.0) -> tuple:
    """Four human clips (O'Neill's test split), four machine clips (the shipped models), the two catch clips.

    Made once per test process through the real clip path (a few seconds).
    """
    from core.data.corpus import load_corpus
    from core.generation.compose import ComposeSettings, compose
    from core.survey.clips import ClipPolicy, catch_clips, human_clip, machine_clip
    from tests.conftest import SHIPPED

    policy = ClipPolicy(excerpt_seconds=excerpt_seconds, fade_seconds=0.5)
    tunes = load_corpus("oneills1850").split("test")
    human = [human_clip(t, "oneills1850", policy) for t in tunes[:4]]
    machine = [machine_clip(compose(ComposeSettings(model=SHIPPED[i % 2], seed=i, seconds=12)), policy)
               for i in range(4)]
    return tuple(human + machine + catch_clips(policy))


def make_survey(url: str, clips=None, status: str = "open", **spec) -> tuple[int, str]:
    """A survey of ``clips`` (default: the eight non-catch real clips); returns (id, token)."""
    from survey_db import store

    clips = list(clips if clips is not None else [c for c in real_clips() if not c.is_catch])
    survey_id = store.create_survey(store.SurveySpec(title=spec.pop("title", "Listening test"), **spec), clips, url)
    if status != "draft":
        store.set_status(survey_id, status, url)
    token = next(s.token for s in store.list_surveys(url) if s.id == survey_id)
    return survey_id, token
