"""How this server faces the public: which pages it serves and how much work one server takes on.

Read from environment variables, so `make serve-survey` and a replica script set them without code:

- ``TUNELAB_MODE``: ``full`` (default: the whole app, workspace pages behind the admin login) or
  ``survey`` (participant-only: the survey page and Streamlit's ``/_stcore/health``, nothing else).
- ``TUNELAB_MAX_TRAINING_RUNS``: training runs at once on this server (default 1).
- ``TUNELAB_UPLOAD_QUOTA_MB``: disk kept for uploads (default 500 MB); the oldest go first.
- ``TUNELAB_UPLOAD_MAX_DAYS``: uploads older than this are removed (default 7 days).
- ``TUNELAB_JOINS_PER_MINUTE``: survey joins one client (IP address) may make a minute (default 10).
- ``TUNELAB_BEHIND_PROXY``: ``1`` when a reverse proxy (nginx) sets ``X-Real-IP``; only then is that header
  trusted as the client's address (otherwise anyone could send one to dodge the join rate limit). Without it,
  every client whose address is unknown or loopback (as all are behind a proxy on the same host) shares one
  join limit, and the server says so in its log when it starts.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from functools import lru_cache

from core.errors import UserError

MODES = ("full", "survey")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ServerSettings:
    """The server's face and limits (see the module docstring for the variables behind each)."""

    mode: str = "full"
    max_training_runs: int = 1
    upload_quota_mb: float = 500.0
    upload_max_days: float = 7.0
    joins_per_minute: int = 10
    behind_proxy: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"TUNELAB_MODE must be one of {', '.join(MODES)}, not {self.mode!r}.")
        if not 1 <= self.max_training_runs <= 64:
            raise UserError(f"TUNELAB_MAX_TRAINING_RUNS must be 1 to 64, not {self.max_training_runs}.")
        for name, value in (("TUNELAB_UPLOAD_QUOTA_MB", self.upload_quota_mb),
                            ("TUNELAB_UPLOAD_MAX_DAYS", self.upload_max_days)):
            if not 0 < value < math.inf:
                raise UserError(f"{name} must be a positive number, not {value}.")
        if not 1 <= self.joins_per_minute <= 100_000:
            raise UserError(f"TUNELAB_JOINS_PER_MINUTE must be 1 to 100000, not {self.joins_per_minute}.")

    @property
    def participant_only(self) -> bool:
        """True when the server shows participants the survey page and nothing else."""
        return self.mode == "survey"


def _number(name: str, default, kind):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise UserError(f"{name} must be a number, not {raw!r}.") from None


def server_settings() -> ServerSettings:
    """The settings of this process, from the environment; UserError names a bad variable."""
    return ServerSettings(
        mode=os.environ.get("TUNELAB_MODE", "full").strip() or "full",
        max_training_runs=_number("TUNELAB_MAX_TRAINING_RUNS", 1, int),
        upload_quota_mb=_number("TUNELAB_UPLOAD_QUOTA_MB", 500.0, float),
        upload_max_days=_number("TUNELAB_UPLOAD_MAX_DAYS", 7.0, float),
        joins_per_minute=_number("TUNELAB_JOINS_PER_MINUTE", 10, int),
        behind_proxy=os.environ.get("TUNELAB_BEHIND_PROXY", "").strip() in ("1", "true", "yes"),
    )


def client_address(peer: str | None, headers: dict, settings: ServerSettings) -> str | None:
    """The client's address: the proxy's ``X-Real-IP`` header when ``behind_proxy``, else the peer address."""
    if settings.behind_proxy:
        forwarded = next((v for k, v in headers.items() if k.lower() == "x-real-ip"), None)
        return (forwarded or "").strip() or peer
    return peer


def beyond_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` can be reached from other machines (unset binds everywhere)."""
    return (address or "").strip() not in LOOPBACK


PROXY_WARNING = ("TuneLab: TUNELAB_BEHIND_PROXY is not set, so clients whose address is unknown or loopback share "
                 "one join limit of {n} a minute per survey; behind a reverse proxy on this host (nginx, a TLS "
                 "terminator) that is every participant: set TUNELAB_BEHIND_PROXY=1 and have the proxy send "
                 "X-Real-IP (see the README's deployment section).")


@lru_cache(maxsize=1)
def startup_warnings(settings: ServerSettings) -> tuple[str, ...]:
    """Log, once per process, what a server's operator should know (the shared join limit without a proxy)."""
    out = () if settings.behind_proxy else (PROXY_WARNING.format(n=settings.joins_per_minute),)
    for line in out:
        logging.getLogger("tunelab").warning(line)
    return out


PRIVATE_PATHS = ("/_stcore/metrics",)
"""Streamlit endpoints no visitor needs: its Prometheus metrics (sessions, memory, cache sizes) answer 404."""


class HidePrivatePaths:
    """ASGI middleware (serve.py): a request for a :data:`PRIVATE_PATHS` path, under any base path, gets 404."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "").rstrip("/") if scope.get("type") == "http" else ""
        if path.endswith(PRIVATE_PATHS):
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"Not found"})
            return
        await self.app(scope, receive, send)

