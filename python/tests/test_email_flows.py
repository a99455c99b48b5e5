"""Email verification and password reset end to end, through a real SMTP server (aiosmtpd)
started here: each test reads the delivered message and follows its link."""

from __future__ import annotations

import email
import re
import secrets
import time
from email.message import Message

import httpx
import pytest
from aiosmtpd.controller import Controller

from conftest import free_port, start_server


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 10) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if m["To"] == to:
                    self.messages.remove(m)
                    return m
            time.sleep(0.05)
        raise AssertionError(f"no mail for {to}")

    @staticmethod
    def text(m: Message) -> str:
        for part in m.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode()
        raise AssertionError("no text part")

    def link(self, to: str) -> str:
        return re.search(r"https?://\S+", self.text(self.wait_for(to))).group(0)


@pytest.fixture(scope="module")
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def mail_server(database_url, inbox):
    _, port = inbox
    s = start_server(
        database_url,
        AUTHKEEP_EMAIL__SMTP_URL=f"smtp://127.0.0.1:{port}",
        AUTHKEEP_EMAIL__FROM="Acme <no-reply@acme.test>",
        AUTHKEEP_EMAIL__APP_NAME="Acme",
        AUTHKEEP_EMAIL_VERIFICATION__REQUIRED="true",
        AUTHKEEP_EMAIL_VERIFICATION__AUTO_SIGN_IN_AFTER_VERIFICATION="true",
        AUTHKEEP_MAGIC_LINK__ENABLED="true",
        AUTHKEEP_USER__CHANGE_EMAIL="true",
        AUTHKEEP_USER__DELETE_USER="true",
        AUTHKEEP_USER__DELETE_USER_VERIFICATION="true",
        AUTHKEEP_EMAIL_OTP__ENABLED="true",
    )
    yield s
    s.proc.terminate()
    s.proc.wait(10)


def new_email() -> str:
    return f"mail-{secrets.token_hex(4)}@example.com"


def sign_up(server, addr: str, **extra) -> httpx.Response:
    return httpx.post(f"{server.api}/sign-up/email", json={"name": "Mail User", "email": addr, "password": "password1234", **extra})


def test_verification_is_required_and_the_link_signs_in(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    r = sign_up(mail_server, addr, callbackURL="/welcome")
    assert r.status_code == 200
    assert r.json()["token"] is None and "set-cookie" not in r.headers, "no session before verification"
    r = httpx.post(f"{mail_server.api}/sign-in/email", json={"email": addr, "password": "password1234"})
    assert (r.status_code, r.json()["code"]) == (403, "EMAIL_NOT_VERIFIED")

    message = box.wait_for(addr)
    assert message["From"] == "Acme <no-reply@acme.test>"
    assert "Acme" in message["Subject"]
    assert message.is_multipart() and {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}
    link = re.search(r"https?://\S+", Inbox.text(message)).group(0)
    assert link.startswith(f"{mail_server.api}/verify-email?token=") and "callbackURL=%2Fwelcome" in link
    r = httpx.get(link)
    assert (r.status_code, r.headers["location"]) == (302, "/welcome")
    cookie = r.headers["set-cookie"].split(";")[0]
    s = httpx.get(f"{mail_server.api}/get-session", headers={"cookie": cookie}).json()
    assert s["user"]["email"] == addr and s["user"]["emailVerified"] is True
    assert httpx.post(f"{mail_server.api}/sign-in/email", json={"email": addr, "password": "password1234"}).status_code == 200
    again = httpx.get(link)
    assert again.status_code == 302 and "set-cookie" not in again.headers, "a used link signs no one in"


def test_bad_verification_links(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    sign_up(mail_server, addr)
    link = box.link(addr)
    token = re.search(r"token=([^&]+)", link).group(1)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    r = httpx.get(f"{mail_server.api}/verify-email", params={"token": tampered})
    assert (r.status_code, r.json()) == (401, {"message": "Invalid token", "code": "INVALID_TOKEN"})
    r = httpx.get(f"{mail_server.api}/verify-email", params={"token": tampered, "callbackURL": "/done"})
    assert (r.status_code, r.headers["location"]) == (302, "/done?error=INVALID_TOKEN")
    r = httpx.get(f"{mail_server.api}/verify-email", params={"token": token, "callbackURL": "https://evil.example/x"})
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_CALLBACK_URL")
    r = httpx.get(f"{mail_server.api}/verify-email")
    assert r.json()["message"] == "[query.token] Invalid input: expected string, received undefined"
    assert httpx.post(f"{mail_server.api}/sign-in/email", json={"email": addr, "password": "password1234"}).status_code == 403


def test_sign_up_with_a_taken_address_reveals_nothing(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    first = sign_up(mail_server, addr).json()
    box.wait_for(addr)
    second = sign_up(mail_server, addr)
    assert second.status_code == 200 and second.json()["token"] is None
    assert second.json()["user"]["id"] != first["user"]["id"]


def test_resend_verification_without_a_session(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    sign_up(mail_server, addr)
    box.wait_for(addr)
    for who in (addr, new_email()):
        started = time.monotonic()
        r = httpx.post(f"{mail_server.api}/send-verification-email", json={"email": who})
        assert (r.status_code, r.json()) == (200, {"status": True})
        assert time.monotonic() - started >= 0.5, "the same minimum time for every address"
    assert "/verify-email?token=" in box.link(addr)


def test_password_reset_end_to_end(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    sign_up(mail_server, addr)
    httpx.get(box.link(addr))  # verify, so sign-in is possible later
    expected = {"status": True, "message": "If this email exists in our system, check your email for the reset link"}
    for who in (addr, new_email()):
        started = time.monotonic()
        r = httpx.post(f"{mail_server.api}/request-password-reset", json={"email": who, "redirectTo": "/reset"})
        assert (r.status_code, r.json()) == (200, expected)
        assert time.monotonic() - started >= 0.25
    link = box.link(addr)
    assert re.match(rf"{re.escape(mail_server.api)}/reset-password/[A-Za-z0-9]{{24}}\?callbackURL=%2Freset$", link), link
    token = link.split("/reset-password/")[1].split("?")[0]
    r = httpx.get(link)
    assert (r.status_code, r.headers["location"]) == (302, f"{mail_server.origin}/reset?token={token}")
    r = httpx.get(f"{mail_server.api}/reset-password/not-a-token", params={"callbackURL": "/reset"})
    assert r.headers["location"] == f"{mail_server.origin}/reset?error=INVALID_TOKEN"
    r = httpx.get(f"{mail_server.api}/reset-password/{token}", params={"callbackURL": "https://evil.example"})
    assert r.status_code == 403
    r = httpx.post(f"{mail_server.api}/reset-password", json={"newPassword": "short", "token": token})
    assert r.json()["code"] == "PASSWORD_TOO_SHORT"
    r = httpx.post(f"{mail_server.api}/reset-password", json={"newPassword": "brand-new-password"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_TOKEN")
    r = httpx.post(f"{mail_server.api}/reset-password", json={"newPassword": "brand-new-password", "token": token})
    assert (r.status_code, r.json()) == (200, {"status": True})
    r = httpx.post(f"{mail_server.api}/reset-password", json={"newPassword": "another-password", "token": token})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_TOKEN"), "a reset token works once"
    assert httpx.post(f"{mail_server.api}/sign-in/email", json={"email": addr, "password": "password1234"}).status_code == 401
    assert httpx.post(f"{mail_server.api}/sign-in/email", json={"email": addr, "password": "brand-new-password"}).status_code == 200


def test_the_older_forget_password_path(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    sign_up(mail_server, addr)
    box.wait_for(addr)
    r = httpx.post(f"{mail_server.api}/forget-password", json={"email": addr})
    assert r.status_code == 200
    assert "/reset-password/" in box.link(addr)


def test_a_dead_smtp_server_does_not_hold_or_break_requests(database_url):
    dead = start_server(database_url, AUTHKEEP_EMAIL__SMTP_URL=f"smtp://127.0.0.1:{free_port()}", AUTHKEEP_EMAIL__TIMEOUT="2")
    try:
        addr = new_email()
        assert sign_up(dead, addr).status_code == 200
        started = time.monotonic()
        r = httpx.post(f"{dead.api}/request-password-reset", json={"email": addr})
        assert r.status_code == 200
        assert time.monotonic() - started < 2, "the send runs in the background"
        assert httpx.get(f"{dead.origin}/ready").status_code == 200
    finally:
        dead.proc.terminate()
        dead.proc.wait(10)


def test_magic_link_signs_up_then_signs_in_once(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    body = {"email": addr, "callbackURL": "/dash", "newUserCallbackURL": "/welcome"}
    r = httpx.post(f"{mail_server.api}/sign-in/magic-link", json=body)
    assert (r.status_code, r.json()) == (200, {"status": True})
    link = box.link(addr)
    assert link.startswith(f"{mail_server.api}/magic-link/verify?token=") and "callbackURL=%2Fdash" in link
    r = httpx.get(link)
    assert (r.status_code, r.headers["location"]) == (302, f"{mail_server.origin}/welcome"), "a new user goes to newUserCallbackURL"
    cookie = r.headers["set-cookie"].split(";")[0]
    user = httpx.get(f"{mail_server.api}/get-session", headers={"cookie": cookie}).json()["user"]
    assert (user["email"], user["emailVerified"], user["name"]) == (addr, True, "")
    again = httpx.get(link)
    assert again.headers["location"] == f"{mail_server.origin}/dash?error=INVALID_TOKEN", "single use"
    httpx.post(f"{mail_server.api}/sign-in/magic-link", json={"email": addr, "callbackURL": "/dash"})
    r = httpx.get(box.link(addr))
    assert r.headers["location"] == f"{mail_server.origin}/dash", "an existing user goes to callbackURL"


def test_magic_link_for_an_unproven_account_revokes_its_password(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    sign_up(mail_server, addr)  # unverified, with a password someone chose
    box.wait_for(addr)
    httpx.post(f"{mail_server.api}/sign-in/magic-link", json={"email": addr})
    r = httpx.get(box.link(addr))
    assert r.status_code == 302 and "set-cookie" in r.headers
    r = httpx.post(f"{mail_server.api}/sign-in/email", json={"email": addr, "password": "password1234"})
    assert r.status_code == 401, "the unproven password no longer signs in"


def test_magic_link_rejects_expired_and_foreign_links(mail_server, inbox, database_url):
    import psycopg

    box, _ = inbox
    addr = new_email()
    r = httpx.post(f"{mail_server.api}/sign-in/magic-link", json={"email": addr, "callbackURL": "https://evil.example"})
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_CALLBACK_URL")
    httpx.post(f"{mail_server.api}/sign-in/magic-link", json={"email": addr, "callbackURL": "/in"})
    link = box.link(addr)
    token = re.search(r"token=([A-Za-z]+)", link).group(1)
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute('update "verification" set "expiresAt" = now() - interval \'1 second\' where "identifier" = %s', (f"magic-link:{token}",))
    assert httpx.get(link).headers["location"] == f"{mail_server.origin}/in?error=INVALID_TOKEN"
    r = httpx.get(f"{mail_server.api}/magic-link/verify", params={"token": "nope"})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_TOKEN")


def test_magic_link_is_off_unless_enabled(server):
    r = httpx.post(f"{server.api}/sign-in/magic-link", json={"email": new_email()})
    assert r.status_code == 404


def verified_session(server, box) -> tuple[str, str]:
    """A new, verified, signed-in user: (email, cookie)."""
    addr = new_email()
    sign_up(server, addr)
    r = httpx.get(box.link(addr))
    return addr, r.headers["set-cookie"].split(";")[0]


def test_change_of_email_is_confirmed_by_the_new_address(mail_server, inbox):
    box, _ = inbox
    addr, cookie = verified_session(mail_server, box)
    headers = {"cookie": cookie, "origin": mail_server.origin}
    r = httpx.post(f"{mail_server.api}/change-email", json={"newEmail": addr}, headers=headers)
    assert (r.status_code, r.json()) == (400, {"message": "Email is the same"})
    taken, _ = verified_session(mail_server, box)
    r = httpx.post(f"{mail_server.api}/change-email", json={"newEmail": taken}, headers=headers)
    assert (r.status_code, r.json()) == (200, {"status": True}), "a taken address answers like a free one"
    new = new_email()
    r = httpx.post(f"{mail_server.api}/change-email", json={"newEmail": new, "callbackURL": "/profile"}, headers=headers)
    assert (r.status_code, r.json()) == (200, {"status": True})
    message = box.wait_for(new)
    link = re.search(r"https?://\S+", Inbox.text(message)).group(0)
    assert httpx.get(f"{mail_server.api}/get-session", headers={"cookie": cookie}).json()["user"]["email"] == addr, "nothing changes before the link"
    r = httpx.get(link, headers={"cookie": cookie})
    assert (r.status_code, r.headers["location"]) == (302, "/profile")
    user = httpx.get(f"{mail_server.api}/get-session", headers={"cookie": cookie}).json()["user"]
    assert (user["email"], user["emailVerified"]) == (new, True)
    assert httpx.post(f"{mail_server.api}/sign-in/email", json={"email": new, "password": "password1234"}).status_code == 200
    assert not [m for m in box.messages if m["To"] == taken]


def test_deletion_confirmed_by_email(mail_server, inbox):
    box, _ = inbox
    addr, cookie = verified_session(mail_server, box)
    headers = {"cookie": cookie, "origin": mail_server.origin}
    r = httpx.post(f"{mail_server.api}/delete-user", json={"callbackURL": "/goodbye"}, headers=headers)
    assert (r.status_code, r.json()) == (200, {"success": True, "message": "Verification email sent"})
    assert httpx.get(f"{mail_server.api}/get-session", headers={"cookie": cookie}).json()["user"]["email"] == addr
    link = box.link(addr)
    assert link.startswith(f"{mail_server.api}/delete-user/callback?token=")
    r = httpx.get(link)
    assert (r.status_code, r.json()["code"]) == (404, "FAILED_TO_GET_USER_INFO"), "the link needs the user's session"
    bad = re.sub(r"token=[a-z0-9]+", "token=" + "0" * 32, link)
    assert httpx.get(bad, headers={"cookie": cookie}).json()["code"] == "INVALID_TOKEN"
    r = httpx.get(link, headers={"cookie": cookie})
    assert (r.status_code, r.headers["location"]) == (302, "/goodbye")
    assert httpx.post(f"{mail_server.api}/sign-in/email", json={"email": addr, "password": "password1234"}).status_code == 401
    assert httpx.get(link, headers={"cookie": cookie}).status_code == 404, "used once"


def otp_for(box, addr: str) -> str:
    message = box.wait_for(addr)
    return re.search(r"\b(\d{6})\b", message["Subject"]).group(1)


def test_sign_in_by_code_creates_and_signs_in_once(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    api = mail_server.api
    assert httpx.post(f"{api}/email-otp/send-verification-otp", json={"email": addr, "type": "sign-in"}).json() == {"success": True}
    code = otp_for(box, addr)
    wrong = "000000" if code != "000000" else "111111"
    r = httpx.post(f"{api}/sign-in/email-otp", json={"email": addr, "otp": wrong})
    assert (r.status_code, r.json()) == (400, {"message": "Invalid OTP", "code": "INVALID_OTP"})
    r = httpx.post(f"{api}/email-otp/check-verification-otp", json={"email": addr, "type": "sign-in", "otp": code})
    assert (r.status_code, r.json()["code"]) == (400, "USER_NOT_FOUND"), "a right code for an address with no account yet"
    r = httpx.post(f"{api}/sign-in/email-otp", json={"email": addr, "otp": code, "name": "Coded"})
    assert r.status_code == 200, r.text
    assert (r.json()["user"]["emailVerified"], r.json()["user"]["name"]) == (True, "Coded")
    cookie = r.headers["set-cookie"].split(";")[0]
    assert httpx.get(f"{api}/get-session", headers={"cookie": cookie}).json()["session"]["token"] == r.json()["token"]
    assert httpx.post(f"{api}/sign-in/email-otp", json={"email": addr, "otp": code}).json()["code"] == "INVALID_OTP", "single use"


def test_codes_burn_after_too_many_wrong_guesses(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    api = mail_server.api
    httpx.post(f"{api}/email-otp/send-verification-otp", json={"email": addr, "type": "sign-in"})
    code = otp_for(box, addr)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        assert httpx.post(f"{api}/sign-in/email-otp", json={"email": addr, "otp": wrong}).json()["code"] == "INVALID_OTP"
    r = httpx.post(f"{api}/sign-in/email-otp", json={"email": addr, "otp": code})
    assert (r.status_code, r.json()) == (403, {"message": "Too many attempts", "code": "TOO_MANY_ATTEMPTS"})
    assert httpx.post(f"{api}/sign-in/email-otp", json={"email": addr, "otp": code}).json()["code"] == "INVALID_OTP"


def test_verify_email_and_reset_password_by_code(mail_server, inbox, database_url):
    import psycopg

    box, _ = inbox
    addr = new_email()
    api = mail_server.api
    sign_up(mail_server, addr)
    box.wait_for(addr)  # the verification link, not used here
    httpx.post(f"{api}/email-otp/send-verification-otp", json={"email": addr, "type": "email-verification"})
    code = otp_for(box, addr)
    r = httpx.post(f"{api}/email-otp/verify-email", json={"email": addr, "otp": code})
    assert r.status_code == 200 and r.json()["status"] is True and r.json()["user"]["emailVerified"] is True
    assert isinstance(r.json()["token"], str), "auto sign-in after verification is on"

    assert httpx.post(f"{api}/email-otp/request-password-reset", json={"email": addr}).json() == {"success": True}
    code = otp_for(box, addr)
    r = httpx.post(f"{api}/email-otp/reset-password", json={"email": addr, "otp": code, "password": "short"})
    assert r.json()["code"] == "PASSWORD_TOO_SHORT"
    r = httpx.post(f"{api}/email-otp/reset-password", json={"email": addr, "otp": code, "password": "otp-new-password"})
    assert r.json() == {"success": True}
    assert httpx.post(f"{api}/sign-in/email", json={"email": addr, "password": "otp-new-password"}).status_code == 200

    httpx.post(f"{api}/forget-password/email-otp", json={"email": addr})
    code = otp_for(box, addr)
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute('update "verification" set "expiresAt" = now() - interval \'1 second\' where "identifier" = %s', (f"forget-password-otp-{addr}",))
    r = httpx.post(f"{api}/email-otp/reset-password", json={"email": addr, "otp": code, "password": "otp-newer-password"})
    assert (r.status_code, r.json()["code"]) == (400, "OTP_EXPIRED")


def test_otp_request_validation(mail_server):
    api = mail_server.api
    r = httpx.post(f"{api}/email-otp/send-verification-otp", json={"email": new_email(), "type": "bogus"})
    assert r.json()["message"] == '[body.type] Invalid option: expected one of "email-verification"|"sign-in"|"forget-password"|"change-email"'
    r = httpx.post(f"{api}/email-otp/send-verification-otp", json={"email": new_email(), "type": "change-email"})
    assert (r.status_code, r.json()) == (400, {"message": "Invalid OTP type"})
    r = httpx.post(f"{api}/email-otp/send-verification-otp", json={"email": new_email(), "type": "forget-password"})
    assert r.json() == {"success": True}, "an unknown address gets the same answer"


class Refusing:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd hook
        return "550 5.1.1 mailbox unavailable"


def test_a_refusing_smtp_server_leaves_nothing_half_done(database_url):
    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    s = start_server(database_url, AUTHKEEP_EMAIL__SMTP_URL=f"smtp://127.0.0.1:{controller.port}", AUTHKEEP_EMAIL_VERIFICATION__REQUIRED="true")
    try:
        addr = new_email()
        r = sign_up(s, addr)
        assert r.status_code == 200 and r.json()["token"] is None
        assert httpx.post(f"{s.api}/sign-in/email", json={"email": addr, "password": "password1234"}).status_code == 403, "still unverified, no session"
        r = httpx.post(f"{s.api}/request-password-reset", json={"email": addr})
        assert r.status_code == 200
    finally:
        s.proc.terminate()
        s.proc.wait(10)
        controller.stop()


def test_tokens_only_work_for_their_own_flow(mail_server, inbox):
    box, _ = inbox
    addr = new_email()
    api = mail_server.api
    sign_up(mail_server, addr)
    verification_token = re.search(r"token=([^&]+)", box.link(addr)).group(1)
    r = httpx.post(f"{api}/reset-password", json={"newPassword": "sneaky-password", "token": verification_token})
    assert r.json()["code"] == "INVALID_TOKEN", "a verification token does not reset a password"
    httpx.post(f"{api}/request-password-reset", json={"email": addr})
    reset_token = box.link(addr).split("/reset-password/")[1].split("?")[0]
    r = httpx.get(f"{api}/verify-email", params={"token": reset_token})
    assert r.json()["code"] == "INVALID_TOKEN", "a reset token does not verify an email"
    r = httpx.get(f"{api}/magic-link/verify", params={"token": reset_token})
    assert r.json()["code"] == "INVALID_TOKEN"


class Slow:
    async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook
        import asyncio

        await asyncio.sleep(6)
        return "250 OK"


def test_a_slow_smtp_server_never_holds_a_request(database_url):
    controller = Controller(Slow(), hostname="127.0.0.1", port=free_port())
    controller.start()
    s = start_server(database_url, AUTHKEEP_EMAIL__SMTP_URL=f"smtp://127.0.0.1:{controller.port}", AUTHKEEP_EMAIL__TIMEOUT="2")
    try:
        addr = new_email()
        assert sign_up(s, addr).status_code == 200
        started = time.monotonic()
        assert httpx.post(f"{s.api}/request-password-reset", json={"email": addr}).status_code == 200
        assert httpx.post(f"{s.api}/send-verification-email", json={"email": addr}).status_code == 200
        assert time.monotonic() - started < 2.5, "both answered without waiting for the SMTP server"
    finally:
        s.proc.terminate()
        s.proc.wait(10)
        controller.stop()
