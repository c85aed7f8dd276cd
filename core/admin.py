"""The admin password of the survey pages: a salted scrypt hash in an ignored local file, never the password.

The hash lives in ``<data dir>/admin.toml`` (``data/`` is ignored by git; ``TUNELAB_DATA_DIR`` moves it).
Checks compare in constant time (``hmac.compare_digest``); each failed attempt is answered only after a
delay that doubles with every failure in a row (1 s, 2 s, 4 s, ... up to 30 s), across all sessions of the
server, so guessing is slow; a success resets it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import tomllib
from pathlib import Path

from core.audio.render import write_atomic
from core.errors import UserError
from core.paths import data_dir

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB of memory a check, ~50 ms here
MIN_PASSWORD_CHARS = 10


def config_path() -> Path:
    """The local file that holds the admin password's hash."""
    return data_dir() / "admin.toml"


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$<salt hex>$<key hex>`` for ``password`` with a random 16-byte salt (or ``salt``)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` string, compared in constant time."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(key)
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def stored_hash() -> str | None:
    """The configured hash, or None when no admin password is set up yet."""
    path = config_path()
    if not path.is_file():
        return None
    try:
        value = tomllib.loads(path.read_text(encoding="utf-8")).get("password_hash")
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path} is not valid TOML ({exc}); delete it to make a new admin password.") from None
    return value if isinstance(value, str) and value else None


def set_password(password: str) -> None:
    """Store the hash of a new admin password (the file is readable by its owner only)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"An admin password needs at least {MIN_PASSWORD_CHARS} characters.")
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# TuneLab admin password (salted scrypt hash). Delete this file to make a new password.\n"
    write_atomic(path, (text + f'password_hash = "{hash_password(password)}"\n').encode())
    path.chmod(0o600)


def ensure_password() -> str | None:
    """Make and store a random password when none is configured; returns it (to show once), else None."""
    if stored_hash() is not None:
        return None
    password = secrets.token_urlsafe(12)
    set_password(password)
    return password


class LoginThrottle:
    """Password checks with a delay after failures: ``base_s * 2**(failures - 1)`` seconds, at most ``max_s``."""

    def __init__(self, base_s: float = 1.0, max_s: float = 30.0) -> None:
        self.base_s, self.max_s = base_s, max_s
        self.failures = 0
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Seconds the next failed attempt waits."""
        return min(self.base_s * 2 ** self.failures, self.max_s)

    def check(self, password: str) -> bool:
        """True when ``password`` is the admin password; a wrong one returns False after the delay."""
        stored = stored_hash()
        ok = stored is not None and verify_password(password, stored)
        with self._lock:
            if ok:
                self.failures = 0
                return True
            wait = self.delay()
            self.failures += 1
        time.sleep(wait)
        return False


THROTTLE = LoginThrottle()
"""The server's one throttle: failures in any session slow the next attempt in every session."""
