"""The admin password: salted scrypt hash in an ignored file, constant-time check, delay after failures, CLI."""

from __future__ import annotations

import re
import stat
import time

import pytest

from core import admin
from core.cli import main
from core.errors import UserError


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    return tmp_path


def test_hash_is_salted_scrypt_and_verifies():
    a, b = admin.hash_password("open sesame!"), admin.hash_password("open sesame!")
    assert re.fullmatch(r"scrypt\$16384\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}", a) and a != b  # a new salt each time
    assert admin.verify_password("open sesame!", a) and admin.verify_password("open sesame!", b)
    assert not admin.verify_password("open sesame?", a)
    assert not admin.verify_password("open sesame!", a[:-2] + "00") and not admin.verify_password("x", "garbage")
    salt = bytes(range(16))
    assert admin.hash_password("pw", salt) == admin.hash_password("pw", salt)


def test_first_run_makes_a_password_once_and_stores_only_its_hash(own_data_dir):
    assert admin.stored_hash() is None
    password = admin.ensure_password()
    assert password is not None and len(password) == 16
    text = (own_data_dir / "admin.toml").read_text()
    assert password not in text and admin.verify_password(password, admin.stored_hash())
    assert stat.S_IMODE((own_data_dir / "admin.toml").stat().st_mode) == 0o600
    assert admin.ensure_password() is None
    with pytest.raises(UserError, match="at least 10"):
        admin.set_password("short")


def test_failed_logins_wait_longer_each_time_and_a_success_resets():
    admin.set_password("the right password")
    throttle = admin.LoginThrottle(base_s=0.05, max_s=0.15)
    waits = []
    for _ in range(3):
        t0 = time.perf_counter()
        assert throttle.check("wrong") is False
        waits.append(time.perf_counter() - t0)
    assert waits[0] >= 0.05 and waits[1] >= 0.1 and waits[2] >= 0.15 and throttle.delay() == 0.15  # capped
    assert throttle.check("the right password") is True and throttle.failures == 0 and throttle.delay() == 0.05


def test_cli_prints_the_new_password_once(capsys):
    assert main(["admin-password"]) == 0
    first = capsys.readouterr().out
    password = first.rsplit(": ", 1)[1].strip()
    assert admin.verify_password(password, admin.stored_hash())
    assert main(["admin-password"]) == 0
    assert password not in capsys.readouterr().out
    assert main(["admin-password", "--reset"]) == 0
    assert not admin.verify_password(password, admin.stored_hash())


def test_the_login_page_makes_a_password_when_none_is_set_and_prints_it_to_the_terminal(capsys):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "pages/views/survey_admin.py"), default_timeout=60)
    at.run()
    assert at.title[0].value == "Admin login" and "printed in the terminal" in at.info[0].value
    password = capsys.readouterr().out.split("only its hash is stored): ", 1)[1].split()[0]
    assert admin.verify_password(password, admin.stored_hash())
    at.text_input(key="admin_password").set_value(password)
    at.button[0].click().run()
    assert at.session_state["admin"] is True and at.title[0].value == "Survey admin"
