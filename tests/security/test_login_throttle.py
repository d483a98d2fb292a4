"""Password guessing at the staff doors: the staff login and Django's admin login.

Through gunicorn, an attacker guesses a staff member's password, sprays guesses over many
usernames from one address, and compares the answers for real and made-up usernames. In
process, with frozen time and a hasher that counts its work, a locked door is shown to spend
no hashing and to open again when its window ends.

The HTTP tests count per day (env overrides): the server's clock cannot be frozen, and a
window that ended mid-test would hand the attacker a fresh allowance.
"""

import datetime as dt
import re

import pytest
import requests as http
import time_machine
from django.contrib.auth.hashers import MD5PasswordHasher

from tests.support.servers import live_database_url

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # the start of an hour, so of a window


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast, as in the rest of the suite) that counts every password it hashes."""

    algorithm = "counting_md5"
    hashed = 0

    def encode(self, password, salt):
        CountingHasher.hashed += 1
        return super().encode(password, salt)


@pytest.fixture
def server(server_process):
    def start(**rates) -> str:
        env = {"DATABASE_URL": live_database_url(), "SECURE_COOKIES": "0"}  # cookies over HTTP
        env["DSAR_LOGIN_RATE_ACCOUNT"] = rates.get("account", "10/day")
        env["DSAR_LOGIN_RATE_IP"] = rates.get("ip", "100/day")
        return server_process(env).url

    return start


@pytest.fixture
def ana(staff_user):
    """A real agent who may also use the admin site."""
    user = staff_user("agent", "ana")
    user.set_password(PASSWORD)
    user.is_staff = True
    user.save()
    return user


def log_in(base: str, username: str, password: str, *, door: str = "/staff/login/"):
    """One login attempt through the form, as a browser makes it (CSRF cookie and field)."""
    session = http.Session()
    session.headers["Accept-Language"] = "en"
    form = session.get(f"{base}{door}", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    return session.post(
        f"{base}{door}",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=30,
    )


def error_text(answer) -> str:
    """The error the login page shows, without the parts that differ per attempt (the wait,
    which depends on when in the window the attempt landed)."""
    shown = " ".join(re.findall(r'<p class="error"[^>]*>(.*?)</p>', answer.text, re.S))
    return re.sub(r"\d+ seconds", "N seconds", shown)


def test_sixty_wrong_passwords_lock_the_account_against_the_right_one(server, ana):
    base = server()
    for n in range(60):
        assert log_in(base, "ana", f"guess-{n}").status_code in (200, 429)
    answer = log_in(base, "ana", PASSWORD)
    assert answer.status_code == 429
    assert "Too many attempts" in error_text(answer)
    assert "sessionid" not in answer.cookies


def test_locked_answer_is_the_same_for_real_and_made_up_usernames(server, ana):
    base = server(account="5/day")
    answers = {}
    for username in ("ana", "nobody-here"):
        for n in range(5):
            log_in(base, username, f"guess-{n}")
        answers[username] = log_in(base, username, f"guess-{n + 1}")
    real, made_up = answers["ana"], answers["nobody-here"]
    assert real.status_code == made_up.status_code == 429
    assert error_text(real) == error_text(made_up)
    assert "Too many attempts" in error_text(real)


def test_one_address_cannot_spray_guesses_over_many_usernames(server, ana):
    base = server(account="5/day", ip="12/day")
    for n in range(12):
        log_in(base, f"user-{n}", "123456")  # one guess per username, under the account limit
    answer = log_in(base, "ana", PASSWORD)
    assert answer.status_code == 429
    assert "sessionid" not in answer.cookies


def test_admin_login_shares_the_lock(server, ana):
    base = server(account="5/day")
    for n in range(5):
        assert log_in(base, "ana", f"guess-{n}", door="/admin/login/").status_code == 200
    answer = log_in(base, "ana", PASSWORD, door="/admin/login/")
    assert answer.status_code != 302 and "sessionid" not in answer.cookies
    assert "Too many attempts" in answer.text
    assert log_in(base, "ana", PASSWORD).status_code == 429  # and the staff door is shut too


@pytest.fixture
def counted(settings, ana):
    """Passwords hashed from here on, with Ana's password stored by the counting hasher."""
    settings.PASSWORD_HASHERS = ["tests.security.test_login_throttle.CountingHasher"]
    settings.DSAR_LOGIN_RATE_ACCOUNT = "5/hour"
    ana.set_password(PASSWORD)
    ana.save()
    CountingHasher.hashed = 0
    return CountingHasher


def post_login(client, username, password, ip="203.0.113.7"):
    return client.post(
        "/staff/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


@time_machine.travel(START, tick=False)
def test_a_locked_door_hashes_no_password(client, counted):
    for username in ("ana", "nobody-here"):
        for n in range(5):
            post_login(client, username, f"guess-{n}")
    assert counted.hashed == 10  # one hash per attempt while the door was open
    for username in ("ana", "nobody-here"):
        for _ in range(20):
            assert post_login(client, username, PASSWORD).status_code == 429
    assert counted.hashed == 10


def test_lock_ends_with_its_window(client, counted):
    with time_machine.travel(START, tick=False) as clock:
        for n in range(5):
            post_login(client, "ana", f"guess-{n}")
        assert post_login(client, "ana", PASSWORD).status_code == 429
        clock.shift(dt.timedelta(minutes=59))
        assert post_login(client, "ana", PASSWORD).status_code == 429
        clock.shift(dt.timedelta(minutes=1))
        assert post_login(client, "ana", PASSWORD).status_code == 302


@time_machine.travel(START, tick=False)
def test_successful_logins_do_not_spend_the_allowance(client, counted):
    for _ in range(3):
        for n in range(4):
            post_login(client, "ana", f"typo-{n}")
        assert post_login(client, "ana", PASSWORD).status_code == 302
        client.logout()
