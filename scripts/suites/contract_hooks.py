"""Schemathesis hooks for scripts/contract.sh.

Random codes, captcha answers, passwords and tokens are rightly refused, so
without help schemathesis would only ever see the refusals. Before each
positive case is sent, these hooks fill in what only the running service can
give: a live captcha (read back through the dev server's `/_dev/captchas`), a
code from its outbox, a fresh account's session, an API key. The generated
values of every other field (locale, display name, session lifetime, …) stay
as drawn. Negative cases (bodies that break the schema) go out untouched.

Operations that change or delete an account get a fresh account of their own,
so the session the rest of the run shares is never touched. Those about
authenticator apps get one with an app enrolled and confirmed (its codes
computed here, RFC 6238); every other log in, and every other login link
redeemed, is to such an account, so both answers of the first step are seen.
Those about sessions per device get an account logged in twice, so a list
holds a session besides the caller's and there is one to end by its id.

Reads CONTRACT_BASE (the dev server), CONTRACT_TOKEN (the shared session) and
CONTRACT_API_KEY from the environment.
"""

import base64
import hashlib
import hmac
import itertools
import os
import secrets
import struct
import time

import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

BASE = os.environ["CONTRACT_BASE"]
TOKEN = os.environ["CONTRACT_TOKEN"]
API_KEY = os.environ["CONTRACT_API_KEY"]
PASSWORD = "contract password 1"
# The purposes whose send needs a captcha.
CAPTCHA_PURPOSES = ("register", "login", "reset_password", "confirm")
HTTP = requests.Session()


def call(method, path, body=None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = HTTP.request(method, BASE + path, json=body, headers=headers, timeout=10)
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path} -> {response.status_code} {response.text}")
    return response.json() if response.content else None


def captcha():
    captcha_id = call("POST", "/v1/captchas")["captcha_id"]
    answer = call("GET", f"/_dev/captchas/{captcha_id}")["answer"]
    return {"id": captcha_id, "answer": answer}


def fresh_email():
    return f"contract-{secrets.token_hex(8)}@example.com"


def fresh_phone():
    return "+86138" + "".join(secrets.choice("0123456789") for _ in range(8))


def send(channel, to, purpose, token=None):
    body = {"channel": channel, "to": to, "purpose": purpose}
    if purpose in CAPTCHA_PURPOSES:
        body["captcha"] = captcha()
    call("POST", "/v1/codes", body, token)


def code(channel, to, purpose, token=None):
    """Sends a code and reads it back from the dev server's outbox."""
    send(channel, to, purpose, token)
    response = HTTP.get(BASE + "/_dev/messages", params={"to": to}, timeout=10)
    response.raise_for_status()
    return response.json()["messages"][0]["code"]


def verification_token(channel, to, purpose, token=None):
    value = code(channel, to, purpose, token)
    body = {"channel": channel, "to": to, "purpose": purpose, "code": value}
    return call("POST", "/v1/codes/verify", body, token)["verification_token"]


def account():
    """A new account (by email): its address and a session token."""
    email = fresh_email()
    value = code("email", email, "register")
    session = call("POST", "/v1/accounts", {"email": email, "password": PASSWORD, "code": value})
    return email, session["token"]


def step_up(email, token):
    """A step-up token of the account of `token`: a `verify` code to `email`."""
    return verification_token("email", email, "verify", token)


def totp(secret, step):
    """An authenticator app's code for 30-second time step `step` (RFC 6238:
    HMAC-SHA1, 6 digits)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def enrolment(email, token):
    """A pending authenticator of the account: its `factor_id` and `secret`
    (enrolment steps up by a code to the account's address)."""
    return call("POST", "/v1/me/factors/totp", {"step_up_token": step_up(email, token)}, token)


def with_authenticator():
    """A new account with a confirmed authenticator app. The app's code for
    the current time step confirms it (if the step ends meanwhile, it is the
    previous one, still in the window), so `next_code` — the next step's —
    is good once, for about a minute."""
    email, token = account()
    enrolled = enrolment(email, token)
    step = int(time.time()) // 30
    confirm = {"factor_id": enrolled["factor_id"], "code": totp(enrolled["secret"], step)}
    codes = call("POST", "/v1/me/factors/totp/confirm", confirm, token)["recovery_codes"]
    return {"email": email, "token": token, "factor_id": enrolled["factor_id"],
            "next_code": totp(enrolled["secret"], step + 1), "recovery_codes": codes}


def with_sessions():
    """A new account with two sessions: the registration's `token`, and the
    `id` of the other (a log in by password), from the account's list."""
    email, token = account()
    call("POST", "/v1/sessions", {"email": email, "password": PASSWORD, "captcha": captcha()})
    listed = call("GET", "/v1/me/sessions", token=token)["sessions"]
    return {"token": token, "other": next(s["id"] for s in listed if not s["current"])}


# Every other log in (and login link redeemed) is to an account with an
# authenticator: the first step answers `mfa_required` for it.
SECOND_FACTOR = itertools.cycle([False, True])


def keep(body, *names):
    """The generated fields worth keeping (free choices, not proofs)."""
    return {name: body[name] for name in names if name in body}


def send_code(case):
    body = case.body
    channel, purpose = body["channel"], body["purpose"]
    filled = {"channel": channel, "purpose": purpose, **keep(body, "locale")}
    if purpose == "verify":
        filled["channel"] = "email"  # the shared account has an email, no phone
    else:
        filled["to"] = fresh_email() if channel == "email" else fresh_phone()
    if purpose in CAPTCHA_PURPOSES:
        filled["captcha"] = captcha()
    case.body = filled
    bearer(case, TOKEN)


def verify_code(case):
    body = case.body
    purpose = body["purpose"]
    token = None
    if purpose in ("login", "reset_password"):
        to, _ = account()  # a code is only delivered to an address with an account
    elif purpose == "verify":
        to, token = account()
    else:
        to = fresh_email()
        if purpose == "bind":
            _, token = account()
    value = code("email", to, purpose, token)
    case.body = {"channel": "email", "to": to, "purpose": purpose, "code": value, **keep(body, "locale")}
    bearer(case, token or TOKEN)


def register(case):
    email = fresh_email()
    value = code("email", email, "register")
    keep_ = keep(case.body, "locale", "display_name")
    case.body = {"email": email, "password": PASSWORD, "code": value, **keep_}


def log_in(case):
    email = with_authenticator()["email"] if next(SECOND_FACTOR) else account()[0]
    keep_ = keep(case.body, "locale", "expires_in")
    case.body = {"email": email, "password": PASSWORD, "captcha": captcha(), **keep_}


def complete_mfa(case):
    app = with_authenticator()
    first = {"email": app["email"], "password": PASSWORD, "captcha": captcha()}
    mfa_token = call("POST", "/v1/sessions", first)["mfa_token"]
    if "recovery_code" in case.body:
        answer = {"recovery_code": app["recovery_codes"][0]}
    else:
        answer = {"totp": app["next_code"]}
    case.body = {"mfa_token": mfa_token, **answer, **keep(case.body, "locale")}


def redeem_login_link(case):
    token = with_authenticator()["token"] if next(SECOND_FACTOR) else account()[1]
    authorization = call("POST", "/v1/login-links", {}, token)["authorization"]
    case.body = {"authorization": authorization, **keep(case.body, "locale", "expires_in")}


def delete_account(case):
    _, token = account()
    case.body = {"current_password": PASSWORD, **keep(case.body, "locale")}
    bearer(case, token)


def change_password(case):
    _, token = account()
    keep_ = keep(case.body, "locale")
    case.body = {"current_password": PASSWORD, "new_password": "another contract password", **keep_}
    bearer(case, token)


def bind_email(case):
    _, token = account()
    email = fresh_email()
    value = code("email", email, "bind", token)
    keep_ = keep(case.body, "locale")
    case.body = {"email": email, "code": value, "current_password": PASSWORD, **keep_}
    bearer(case, token)


def bind_phone(case):
    _, token = account()  # no phone yet: filling it needs a step-up all the same
    phone = fresh_phone()
    value = code("sms", phone, "bind", token)
    keep_ = keep(case.body, "locale")
    case.body = {"phone": phone, "code": value, "current_password": PASSWORD, **keep_}
    bearer(case, token)


def enrol_totp(case):
    email, token = account()
    case.body = {"step_up_token": step_up(email, token), **keep(case.body, "locale")}
    bearer(case, token)


def confirm_totp(case):
    email, token = account()
    enrolled = enrolment(email, token)
    code_ = totp(enrolled["secret"], int(time.time()) // 30)
    case.body = {"factor_id": enrolled["factor_id"], "code": code_, **keep(case.body, "locale")}
    bearer(case, token)


def delete_factor(case):
    app = with_authenticator()
    case.path_parameters = {**(case.path_parameters or {}), "id": app["factor_id"]}
    case.body = {"current_password": PASSWORD, **keep(case.body, "locale")}
    bearer(case, app["token"])


def renew_recovery_codes(case):
    app = with_authenticator()  # a step-up by the app's code
    case.body = {"step_up_totp": app["next_code"], **keep(case.body, "locale")}
    bearer(case, app["token"])


def reset_password(case):
    email, _ = account()
    value = code("email", email, "reset_password")
    keep_ = keep(case.body, "locale")
    case.body = {"email": email, "code": value, "new_password": "a reset contract password", **keep_}


def redeem_verification(case):
    token = verification_token("email", fresh_email(), "confirm")
    case.body = {"verification_token": token}
    case.headers = {**(case.headers or {}), "Authorization": f"ApiKey {API_KEY}"}


def log_out(case):
    _, token = account()
    bearer(case, token)


def end_session(case):
    app = with_sessions()
    case.path_parameters = {**(case.path_parameters or {}), "id": app["other"]}
    bearer(case, app["token"])


def end_other_sessions(case):
    bearer(case, with_sessions()["token"])  # `scope` stays as drawn: `others`


def bearer(case, token):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


FILL = {
    "POST /v1/codes": send_code,
    "POST /v1/codes/verify": verify_code,
    "POST /v1/accounts": register,
    "POST /v1/sessions": log_in,
    "POST /v1/sessions/mfa": complete_mfa,
    "POST /v1/login-links/redeem": redeem_login_link,
    "DELETE /v1/me": delete_account,
    "PUT /v1/me/password": change_password,
    "PUT /v1/me/email": bind_email,
    "PUT /v1/me/phone": bind_phone,
    "POST /v1/me/factors/totp": enrol_totp,
    "POST /v1/me/factors/totp/confirm": confirm_totp,
    "DELETE /v1/me/factors/{id}": delete_factor,
    "POST /v1/me/factors/recovery-codes": renew_recovery_codes,
    "POST /v1/password-resets": reset_password,
    "POST /v1/verifications/redeem": redeem_verification,
    "DELETE /v1/sessions/current": log_out,
    "DELETE /v1/me/sessions/{id}": end_session,
    "DELETE /v1/me/sessions": end_other_sessions,
}
# Operations that take the shared session as it is.
SHARED_SESSION = {"GET /v1/me", "POST /v1/login-links", "POST /v1/invites", "POST /v1/codes"}
# Operations whose negative cases still get an account of their own: a body
# the service wrongly accepted would otherwise end the shared session.
OWN_ACCOUNT = {"DELETE /v1/me", "PUT /v1/me/password", "PUT /v1/me/email", "PUT /v1/me/phone",
               "DELETE /v1/sessions/current", "POST /v1/me/factors/totp",
               "POST /v1/me/factors/totp/confirm", "DELETE /v1/me/factors/{id}",
               "POST /v1/me/factors/recovery-codes", "DELETE /v1/me/sessions/{id}",
               "DELETE /v1/me/sessions"}
# Operations that read an account's authenticators: one with an app confirmed.
WITH_AUTHENTICATOR = {"GET /v1/me/factors"}
# Operations that read an account's sessions: one logged in twice.
WITH_SESSIONS = {"GET /v1/me/sessions"}


@schemathesis.hook
def before_call(ctx, case, kwargs):
    label = case.operation.label
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    fill = FILL.get(label)
    # (An operation without a body has none to fill: NOT_SET.)
    fillable = case.body is None or case.body is NOT_SET or isinstance(case.body, dict)
    if fill is not None and positive and fillable:
        if case.body is None:
            case.body = {}
        fill(case)
    elif "Authorization" not in (case.headers or {}):
        if label in OWN_ACCOUNT:
            bearer(case, account()[1])
        elif label in WITH_AUTHENTICATOR:
            bearer(case, with_authenticator()["token"])
        elif label in WITH_SESSIONS:
            bearer(case, with_sessions()["token"])
        elif label in SHARED_SESSION:
            bearer(case, TOKEN)
