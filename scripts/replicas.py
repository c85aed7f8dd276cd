"""Several participant-only app replicas on one PostgreSQL database behind Debian's nginx.

    python scripts/replicas.py --replicas 2 --port 8080 --database-url postgresql+psycopg://user@host/db
    python scripts/replicas.py --replicas 2 --port 8080 --private-postgres     # a throw-away cluster, to try it

Each replica is `streamlit run serve.py` with ``TUNELAB_MODE=survey`` (participant-only) and
``TUNELAB_BEHIND_PROXY=1`` (the join rate limit reads nginx's ``X-Real-IP``), on its own loopback port.
nginx listens on ``--port``, upgrades websockets (``proxy_http_version 1.1``, ``Upgrade``/``Connection``)
and keeps each browser on one replica with a cookie it sets on the first request (``tunelab_replica``,
hashed consistently): a Streamlit session and the audio files it serves live in one replica's memory.
When a replica dies, nginx sends its browsers to another one; Streamlit's page reconnects by itself and the
participant's link (``?s=...&p=...``) resumes them from the database. The nginx config written here is the
one to adapt for a server (see the README). Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
{user}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    client_max_body_size 60m;

    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    # sticky sessions: the replica cookie, or for a browser's first request a fresh random key
    map $cookie_tunelab_replica $replica_key {{ "" $request_id; default $cookie_tunelab_replica; }}

    upstream tunelab {{
        hash $replica_key consistent;
{servers}
    }}

    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://tunelab;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 86400s;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            add_header Set-Cookie "tunelab_replica=$replica_key; Path=/; HttpOnly; SameSite=Lax";
            add_header X-Tunelab-Replica $upstream_addr;  # which replica answered (tests, debugging)
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_config(run: Path, port: int, replica_ports: list[int], host: str = "127.0.0.1") -> str:
    """The nginx config of the proxy: websocket upgrade, sticky cookie, failover to the other replicas."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;" for p in replica_ports)
    user = "user root;" if os.geteuid() == 0 else ""  # workers must reach the temp folders made here
    return NGINX_CONF.format(run=run, port=port, servers=servers, user=user, host=host)


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> None:
    """Poll ``url/_stcore/health`` until it answers, then open one warm-up session (scripts.st_client.warm_session:
    the first session of a fresh server would see "Page not found"); RuntimeError when the server died or never
    came up."""
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                pass
            from scripts.st_client import warm_session

            warm_session(url)
            return
        except OSError:
            if time.time() > deadline or (proc is not None and proc.poll() is not None):
                raise RuntimeError(f"the server at {url} did not start (see its log)") from None
            time.sleep(0.3)


class Replicas:
    """``n`` participant-only replicas and nginx in front of them, all started by :meth:`start`."""

    def __init__(self, n: int, database_url: str, run_dir: Path, port: int | None = None,
                 env: dict | None = None, host: str = "127.0.0.1") -> None:
        if n < 1:
            raise ValueError("at least one replica")
        self.n, self.database_url, self.run = n, database_url, Path(run_dir)
        self.port, self.host = port or free_port(), host
        self.env = env or {}
        self.ports = [free_port() for _ in range(n)]
        self.procs: list[subprocess.Popen | None] = [None] * n
        self.nginx: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_replica(self, i: int, timeout: float = 120, wait: bool = True) -> None:
        """Start (or restart) replica ``i`` on its port and (unless not ``wait``) wait for its health check."""
        env = {**os.environ, **self.env, "TUNELAB_MODE": "survey", "TUNELAB_BEHIND_PROXY": "1",
               "SURVEY_DB_URL": self.database_url}
        log = open(self.run / f"replica-{i}.log", "ab")  # noqa: SIM115 - the process holds it
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(self.ports[i]),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        if wait:
            wait_healthy(f"http://127.0.0.1:{self.ports[i]}", self.procs[i], timeout)

    def start(self) -> Replicas:
        """Migrate the database once, start the replicas together, wait for each, then start nginx."""
        if not Path(NGINX).exists():
            raise RuntimeError("nginx is not installed: apt-get install nginx (scripts/system-deps.sh does)")
        self.run.mkdir(parents=True, exist_ok=True)
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.run / sub).mkdir(exist_ok=True)
        from survey_db.engine import get_engine

        get_engine(self.database_url)  # the schema, before several processes race to make it
        for i in range(self.n):
            self.start_replica(i, wait=False)
        for i in range(self.n):
            wait_healthy(f"http://127.0.0.1:{self.ports[i]}", self.procs[i], 120)
        conf = self.run / "nginx.conf"
        conf.write_text(nginx_config(self.run, self.port, self.ports, self.host))
        self.nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(self.run), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=open(self.run / "nginx.out", "ab"))  # noqa: SIM115
        wait_healthy(self.url, self.nginx, 30)
        return self

    def kill(self, i: int) -> None:
        """Kill replica ``i`` at once (SIGKILL: no goodbye to its sessions), as a crash would."""
        proc = self.procs[i]
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        """Stop nginx and every replica."""
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def rss_mb(self) -> list[float]:
        """Resident memory of each live replica, in MB (Linux /proc)."""
        out = []
        for proc in self.procs:
            status = Path(f"/proc/{proc.pid}/status") if proc is not None and proc.poll() is None else None
            if status is not None and status.exists():
                kb = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmRSS"))
                out.append(kb / 1024)
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="app processes behind nginx (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="the port nginx listens on (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="the address nginx listens on (0.0.0.0: every one)")
    parser.add_argument("--database-url", help="the PostgreSQL database the replicas share (SQLAlchemy URL)")
    parser.add_argument("--private-postgres", action="store_true", help="start a throw-away PostgreSQL cluster")
    parser.add_argument("--run-dir", default=None, help="folder for nginx's config, logs and temp files")
    args = parser.parse_args(argv)
    if bool(args.database_url) == args.private_postgres:
        parser.error("give either --database-url or --private-postgres")
    sys.path.insert(0, str(ROOT))
    pg = None
    if args.private_postgres:
        from tests.survey_support import PostgresServer

        pg = PostgresServer.start(durable=True)
        url = pg.new_database()
    else:
        url = args.database_url
    run = Path(args.run_dir or (ROOT / "data" / "replicas"))
    cluster = Replicas(args.replicas, url, run, args.port, host=args.host)
    try:
        cluster.start()
        print(f"{args.replicas} replicas behind nginx: {cluster.url} (database {url}); Ctrl-C stops.", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()
        if pg is not None:
            pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
