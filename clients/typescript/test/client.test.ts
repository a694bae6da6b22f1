// The client against a running dev server (scripts/suites/client.sh starts one):
// VERICODE_URL=http://127.0.0.1:PORT node --test dist/test/
import assert from "node:assert/strict";
import { createHmac, pbkdf2Sync, randomUUID } from "node:crypto";
import { test } from "node:test";
import { Vericode } from "../src/index.js";

const baseUrl = process.env.VERICODE_URL ?? "http://127.0.0.1:3000";
const api = new Vericode({ baseUrl });

/** A captcha, solved through the dev server's answer route. */
async function captcha(client: Vericode) {
  const made = await client.createCaptcha();
  assert.ok(made.ok, JSON.stringify(made));
  const id = made.data.captcha_id;
  assert.match(made.data.image, /^data:image\/png;base64,/);
  const { answer } = (await (await fetch(`${baseUrl}/_dev/captchas/${id}`)).json()) as { answer: string };
  return { id, answer };
}

/** The newest code the dev server's outbox holds for `to`. */
async function lastCode(to: string): Promise<string> {
  const resp = await fetch(`${baseUrl}/_dev/messages?to=${encodeURIComponent(to)}`);
  const { messages } = (await resp.json()) as { messages: { code: string | null }[] };
  assert.ok(messages[0]?.code, `no code for ${to}`);
  return messages[0].code;
}

test("register, log in, who am I, typed errors", async () => {
  const email = `ts-${Date.now()}@example.com`;
  const sent = await api.sendCode({ channel: "email", to: email, purpose: "register", captcha: await captcha(api) });
  assert.ok(sent.ok, JSON.stringify(sent));
  assert.equal(sent.data.expires_in, 600);

  // A wrong code: a typed error with attempts_left.
  const wrong = await api.verifyCode({ channel: "email", to: email, purpose: "register", code: "000000" });
  assert.equal(wrong.ok, false);
  if (!wrong.ok) {
    assert.equal(wrong.status, 400);
    assert.equal(wrong.error.code, "code_invalid");
    assert.equal(typeof wrong.error.attempts_left, "number");
  }

  const code = await lastCode(email);
  const verified = await api.verifyCode({ channel: "email", to: email, purpose: "register", code });
  assert.ok(verified.ok);
  const registered = await api.register({
    email, password: "typed password", verification_token: verified.data.verification_token, display_name: "TS",
  });
  assert.ok(registered.ok, JSON.stringify(registered));
  assert.equal(registered.status, 201);

  const me = await api.withToken(registered.data.token).me();
  assert.ok(me.ok);
  assert.equal(me.data.email, email);
  assert.equal(me.data.display_name, "TS");

  // Too soon for another code: 429 with retry_after, in the error value.
  const again = await api.sendCode({ channel: "email", to: email, purpose: "login", captcha: await captcha(api) });
  assert.ok(again.ok);
  const busy = await api.sendCode({ channel: "email", to: email, purpose: "login", captcha: await captcha(api) });
  assert.equal(busy.ok, false);
  if (!busy.ok) {
    assert.equal(busy.error.code, "rate_limited");
    assert.ok((busy.error.retry_after ?? 0) >= 1);
  }

  // Invalid input names its field; a missing session is 401.
  const bad = await api.sendCode({ channel: "email", to: "not an email", purpose: "register", captcha: await captcha(api) });
  assert.ok(!bad.ok && bad.error.code === "invalid_email");
  const anonymous = await api.me();
  assert.ok(!anonymous.ok && anonymous.status === 401 && anonymous.error.code === "unauthorized");

  // Log in by password (no authenticator: a session at once), then log out.
  const session = await api.logIn({ email, password: "typed password", captcha: await captcha(api) });
  assert.ok(session.ok && "token" in session.data, JSON.stringify(session));
  const client = api.withToken(session.data.token);
  assert.equal((await client.logOut()).status, 204);
  assert.equal((await client.me()).status, 401);
});

/** An account registered by email with `password`: its address and a client with its session. */
async function account(prefix: string, password: string) {
  const email = `${prefix}-${Date.now()}@example.com`;
  const sent = await api.sendCode({ channel: "email", to: email, purpose: "register", captcha: await captcha(api) });
  assert.ok(sent.ok, JSON.stringify(sent));
  const registered = await api.register({ email, password, code: await lastCode(email) });
  assert.ok(registered.ok, JSON.stringify(registered));
  return { email, client: api.withToken(registered.data.token) };
}

test("sessions per device: list them, end one, end the others", async () => {
  const password = "typed password sessions";
  const { email, client } = await account("ts-sessions", password);
  /** A log in by password: a client with the new session. */
  const logIn = async () => {
    const r = await api.logIn({ email, password, captcha: await captcha(api) });
    assert.ok(r.ok && "token" in r.data, JSON.stringify(r));
    return api.withToken(r.data.token);
  };
  const laptop = await logIn();

  // Both sessions (the registration's and the log in's), newest first, the
  // caller's marked current. The device is whatever Node's fetch says it is.
  const listed = await client.listSessions();
  assert.ok(listed.ok, JSON.stringify(listed));
  const { sessions } = listed.data;
  assert.equal(sessions.length, 2, JSON.stringify(sessions));
  assert.ok(sessions[0].created_at >= sessions[1].created_at);
  for (const s of sessions) {
    assert.match(s.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(s.device.length > 0 && s.network.length > 0, JSON.stringify(s));
    assert.ok(Date.parse(s.created_at) < Date.parse(s.expires_at), JSON.stringify(s));
  }
  assert.equal(sessions.filter((s) => s.current).length, 1);
  const own = sessions.find((s) => s.current)!.id;
  const other = sessions.find((s) => !s.current)!.id;
  const seen = await laptop.listSessions();
  assert.ok(seen.ok);
  assert.deepEqual(seen.data.sessions.filter((s) => s.current).map((s) => s.id), [other]);
  const anonymous = await api.listSessions();
  assert.ok(!anonymous.ok && anonymous.status === 401 && anonymous.error.code === "unauthorized");

  // One ends: its token is refused from then on; ending it again, or a
  // session the account never had, is 404.
  const ended = await client.endSession(other);
  assert.equal(ended.status, 204, JSON.stringify(ended));
  const refused = await laptop.me();
  assert.ok(!refused.ok && refused.status === 401 && refused.error.code === "unauthorized");
  assert.equal((await laptop.listSessions()).status, 401);
  const again = await client.endSession(other);
  assert.ok(!again.ok && again.status === 404 && again.error.code === "not_found", JSON.stringify(again));
  const guessed = await client.endSession(randomUUID());
  assert.ok(!guessed.ok && guessed.status === 404 && guessed.error.code === "not_found", JSON.stringify(guessed));
  const left = await client.listSessions();
  assert.ok(left.ok);
  assert.deepEqual(left.data.sessions.map((s) => [s.id, s.current]), [[own, true]]);

  // A login link is `<account id>.<secret>`; ending the others takes an
  // unused one along with the two new sessions, and keeps the caller's.
  const me = await client.me();
  assert.ok(me.ok);
  const link = await client.createLoginLink();
  assert.ok(link.ok);
  assert.match(link.data.authorization, new RegExp(`^${me.data.id}\\.[A-Za-z0-9_-]{43}$`));
  const [phone, tablet] = [await logIn(), await logIn()];
  const more = await client.listSessions();
  assert.ok(more.ok && more.data.sessions.length === 3, JSON.stringify(more));
  const others = await client.endOtherSessions();
  assert.equal(others.status, 204, JSON.stringify(others));
  assert.equal((await phone.me()).status, 401);
  assert.equal((await tablet.me()).status, 401);
  const unused = await api.redeemLoginLink({ authorization: link.data.authorization });
  assert.ok(!unused.ok && unused.status === 401 && unused.error.code === "invalid_credentials", JSON.stringify(unused));
  assert.ok((await client.me()).ok, "the caller's session stays");
  const kept = await client.listSessions();
  assert.ok(kept.ok);
  assert.deepEqual(kept.data.sessions.map((s) => [s.id, s.current]), [[own, true]]);

  // The caller's own session, ended by its id, is a log out.
  assert.equal((await client.endSession(own)).status, 204);
  assert.equal((await client.me()).status, 401);
});

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const out: number[] = [];
  let bits = 0, value = 0;
  for (const c of text.replace(/=+$/, "")) {
    value = ((value << 5) | alphabet.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** An authenticator app's code for 30-second time step `step` (RFC 6238: HMAC-SHA1, 6 digits). */
function totp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

test("an authenticator app: enrol, confirm, a log in in two steps, recovery codes, removal", async () => {
  // RFC 6238, appendix B: the secret "12345678901234567890" at 59 s (step 1).
  assert.equal(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1), "287082");
  const password = "typed password 2fa";
  const { email, client } = await account("ts-totp", password);

  // Enrolment takes one step-up, not two; then it is pending.
  const both = await client.enrolTotp({ current_password: password, step_up_totp: "123456" });
  assert.ok(!both.ok && both.status === 400 && both.error.field === "step_up_totp", JSON.stringify(both));
  // The password alone is no step-up for it: a code to the account's address is.
  const passwordOnly = await client.enrolTotp({ current_password: password });
  assert.ok(!passwordOnly.ok && passwordOnly.status === 400 && passwordOnly.error.field === "step_up_token");
  const forged = await client.enrolTotp({ step_up_token: "not.a.token" });
  assert.ok(!forged.ok && forged.status === 401 && forged.error.code === "invalid_credentials");
  const sentVerify = await client.sendCode({ channel: "email", to: email, purpose: "verify" });
  assert.ok(sentVerify.ok, JSON.stringify(sentVerify));
  const stepUp = await client.verifyCode({ channel: "email", to: email, purpose: "verify", code: await lastCode(email) });
  assert.ok(stepUp.ok, JSON.stringify(stepUp));
  const enrolled = await client.enrolTotp({ step_up_token: stepUp.data.verification_token });
  assert.ok(enrolled.ok, JSON.stringify(enrolled));
  assert.equal(enrolled.status, 201);
  const { factor_id, secret } = enrolled.data;
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.ok(enrolled.data.otpauth_uri.startsWith("otpauth://totp/"));
  assert.ok(enrolled.data.otpauth_uri.includes(`secret=${secret}`));
  assert.match(enrolled.data.qr, /^data:image\/png;base64,/);
  const pending = await client.listFactors();
  assert.ok(pending.ok);
  assert.deepEqual(pending.data.factors.map((f) => [f.id, f.type, f.status]), [[factor_id, "totp", "pending"]]);
  assert.equal(pending.data.recovery_codes_left, 0);

  // Three time steps, each accepted once: the previous one confirms, the
  // current one steps up, the next one logs in. Not too near the end of a
  // step, so the previous one is still in the window when it is used.
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 200));
  const step = Math.floor(Date.now() / 30_000);
  const window = [step - 1, step, step + 1].map((s) => totp(secret, s));
  const wrong = ["000000", "111111", "222222", "333333"].find((c) => !window.includes(c)) ?? "444444";

  const refused = await client.confirmTotp({ factor_id, code: wrong });
  assert.ok(!refused.ok && refused.error.code === "code_invalid" && refused.error.attempts_left === 4, JSON.stringify(refused));
  const unknown = await client.confirmTotp({ factor_id: "no-such-factor", code: window[1] });
  assert.ok(!unknown.ok && unknown.status === 404 && unknown.error.code === "not_found");
  const confirmed = await client.confirmTotp({ factor_id, code: window[0] });
  assert.ok(confirmed.ok, JSON.stringify(confirmed));
  assert.equal(confirmed.data.recovery_codes.length, 10);
  for (const c of confirmed.data.recovery_codes) assert.match(c, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
  const listed = await client.listFactors();
  assert.ok(listed.ok);
  assert.deepEqual(listed.data.factors.map((f) => [f.id, f.status]), [[factor_id, "confirmed"]]);
  assert.equal(listed.data.recovery_codes_left, 10);

  // A step-up by the app's code: fresh recovery codes, the old set void.
  const renewed = await client.renewRecoveryCodes({ step_up_totp: window[1] });
  assert.ok(renewed.ok, JSON.stringify(renewed));
  assert.equal(renewed.data.recovery_codes.length, 10);
  const replayed = await client.renewRecoveryCodes({ step_up_totp: window[1] });
  assert.ok(!replayed.ok && replayed.status === 401 && replayed.error.code === "invalid_credentials", JSON.stringify(replayed));

  // A log in by password now asks for the second step.
  const first = await api.logIn({ email, password, captcha: await captcha(api) });
  assert.ok(first.ok, JSON.stringify(first));
  assert.ok("mfa_required" in first.data, JSON.stringify(first.data));
  assert.equal(first.data.mfa_required, true);
  assert.equal(first.data.expires_in, 300);
  const { mfa_token } = first.data;
  const either = await api.completeMfa({ mfa_token });
  assert.ok(!either.ok && either.status === 400 && either.error.code === "invalid_request");
  const bad = await api.completeMfa({ mfa_token, totp: wrong });
  assert.ok(!bad.ok && bad.status === 401 && bad.error.code === "invalid_credentials");
  const used = await api.completeMfa({ mfa_token, totp: window[1] });
  assert.ok(!used.ok && used.error.code === "invalid_credentials", "a time step is accepted once");
  const second = await api.completeMfa({ mfa_token, totp: window[2] });
  assert.ok(second.ok, JSON.stringify(second));
  const me = await api.withToken(second.data.token).me();
  assert.ok(me.ok && me.data.email === email);

  // A login link asks for it too; a recovery code of the set in force
  // answers it, once; one of the old set does not.
  const link = await client.createLoginLink();
  assert.ok(link.ok);
  const redeemed = await api.redeemLoginLink({ authorization: link.data.authorization });
  assert.ok(redeemed.ok && "mfa_required" in redeemed.data, JSON.stringify(redeemed));
  const linkToken = redeemed.data.mfa_token;
  const old = await api.completeMfa({ mfa_token: linkToken, recovery_code: confirmed.data.recovery_codes[0] });
  assert.ok(!old.ok && old.error.code === "invalid_credentials");
  const recovered = await api.completeMfa({ mfa_token: linkToken, recovery_code: renewed.data.recovery_codes[0] });
  assert.ok(recovered.ok, JSON.stringify(recovered));
  const again = await api.logIn({ email, password, captcha: await captcha(api) });
  assert.ok(again.ok && "mfa_required" in again.data);
  const spent = await api.completeMfa({ mfa_token: again.data.mfa_token, recovery_code: renewed.data.recovery_codes[0] });
  assert.ok(!spent.ok && spent.error.code === "invalid_credentials");
  const counted = await client.listFactors();
  assert.ok(counted.ok && counted.data.recovery_codes_left === 9);

  // Removal: a factor the account does not have is 404; the last one takes
  // the recovery codes along, and a log in is one step again.
  const missing = await client.deleteFactor("no-such-factor", { current_password: password });
  assert.ok(!missing.ok && missing.status === 404 && missing.error.code === "not_found");
  const removed = await client.deleteFactor(factor_id, { current_password: password });
  assert.equal(removed.status, 204, JSON.stringify(removed));
  const none = await client.listFactors();
  assert.ok(none.ok);
  assert.deepEqual(none.data, { factors: [], recovery_codes_left: 0 });
  const noCodes = await client.renewRecoveryCodes({ current_password: password });
  assert.ok(!noCodes.ok && noCodes.status === 404);
  const plain = await api.logIn({ email, password, captcha: await captcha(api) });
  assert.ok(plain.ok && "token" in plain.data, JSON.stringify(plain));
});

test("confirm an address and redeem it server-side with an API key", async () => {
  const phone = "+861380013" + String(Date.now() % 10000).padStart(4, "0");
  const sent = await api.sendCode({ channel: "sms", to: phone, purpose: "confirm", captcha: await captcha(api) });
  assert.ok(sent.ok, JSON.stringify(sent));
  const verified = await api.verifyCode({ channel: "sms", to: phone, purpose: "confirm", code: await lastCode(phone) });
  assert.ok(verified.ok);
  const made = (await (await fetch(`${baseUrl}/_dev/api-keys`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "ts" }),
  })).json()) as { api_key: string };
  const server = new Vericode({ baseUrl, apiKey: made.api_key });
  const token = verified.data.verification_token;
  assert.equal((await api.redeemVerification({ verification_token: token })).status, 401, "no key");
  const redeemed = await server.redeemVerification({ verification_token: token });
  assert.ok(redeemed.ok, JSON.stringify(redeemed));
  assert.deepEqual([redeemed.data.channel, redeemed.data.to, redeemed.data.purpose], ["sms", phone, "confirm"]);
  const twice = await server.redeemVerification({ verification_token: token });
  assert.ok(!twice.ok && twice.error.code === "code_invalid");
});

test("a proof of work, solved as the widget solves it, sends a code once", async () => {
  const made = await api.createChallenge();
  assert.ok(made.ok, JSON.stringify(made));
  const { parameters, signature } = made.data;
  assert.equal(parameters.algorithm, "PBKDF2/SHA-256");
  // Try counters in order until the derived key starts with the prefix.
  const password = Buffer.alloc(20);
  Buffer.from(parameters.nonce, "hex").copy(password);
  let counter = 0, derivedKey = "";
  for (; !derivedKey.startsWith(parameters.keyPrefix); counter++) {
    password.writeUInt32BE(counter, 16);
    derivedKey = pbkdf2Sync(password, Buffer.from(parameters.salt, "hex"), parameters.cost, 32, "sha256").toString("hex");
  }
  const altcha = Buffer.from(JSON.stringify({ challenge: { parameters, signature }, solution: { counter: counter - 1, derivedKey } })).toString("base64");
  const to = `pow-${Date.now()}@example.com`;
  const sent = await api.sendCode({ channel: "email", to, purpose: "confirm", captcha: { altcha } });
  assert.ok(sent.ok, JSON.stringify(sent));
  const again = await api.sendCode({ channel: "email", to, purpose: "confirm", captcha: { altcha } });
  assert.ok(!again.ok && again.error.code === "captcha_invalid", JSON.stringify(again));
});

test("the JWKS and the network failure are values too", async () => {
  const jwks = await api.jwks();
  assert.ok(jwks.ok);
  assert.equal(jwks.data.keys[0].alg, "EdDSA");
  const nowhere = await new Vericode({ baseUrl: "http://127.0.0.1:9" }).me();
  assert.ok(!nowhere.ok && nowhere.status === 0 && nowhere.error.code === "network_error");
});

// Compile-time checks: the request types are the API's.
export function typed(client: Vericode) {
  // @ts-expect-error: no such purpose
  void client.sendCode({ channel: "email", to: "a@example.com", purpose: "sign_up" });
  // @ts-expect-error: unknown fields are refused by the API, and by the types
  void client.logIn({ email: "a@example.com", password: "x", remember: true });
  // @ts-expect-error: the second step needs the first step's token
  void client.completeMfa({ totp: "123456" });
  // @ts-expect-error: a session is ended by its id
  void client.endSession();
}

// A log in answers one of two shapes: the types make the caller tell them apart.
export async function signedIn(client: Vericode) {
  const r = await client.logIn({ email: "a@example.com", password: "x" });
  if (!r.ok) return;
  // @ts-expect-error: no token until it is known not to be `mfa_required`
  void r.data.token;
  if ("mfa_required" in r.data) void client.completeMfa({ mfa_token: r.data.mfa_token, totp: "123456" });
  else void client.withToken(r.data.token);
}
