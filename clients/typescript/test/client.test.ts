// The client against a running dev server (scripts/suites/client.sh starts one):
// VERICODE_URL=http://127.0.0.1:PORT node --test dist/test/
import assert from "node:assert/strict";
import { pbkdf2Sync } from "node:crypto";
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

  // Log in by password, then log out.
  const session = await api.logIn({ email, password: "typed password", captcha: await captcha(api) });
  assert.ok(session.ok);
  const client = api.withToken(session.data.token);
  assert.equal((await client.logOut()).status, 204);
  assert.equal((await client.me()).status, 401);
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
}
