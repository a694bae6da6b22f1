// Clicks through every flow of the dev server's playground in headless
// Chromium, in English and then in Chinese, with the image captcha and with
// the proof-of-work widget (a reset code's send; a password login on /login): register, log in (password and
// code), the sessions (list them, end another device's, end all the others,
// with the other logins made from here as a Mac's Chrome), bind a phone,
// step up and change the password, a login link opened on the /login page,
// an invite, reset the password, an authenticator app (refused with the
// password alone, enrolled with a step-up token the page asks for, confirm, log
// in with its code and with a recovery code, on the playground and on
// /login, remove it with its code), delete the account.
// Saves screenshots (playground-<lang>.png, login-<lang>.png, totp-<lang>.png,
// sessions-<lang>.png, …) to OUTDIR.
//   node playground.mjs http://127.0.0.1:PORT OUTDIR
import { createRequire } from "node:module";
import { createHmac } from "node:crypto";

// playwright-core lives in the tool cache (scripts/stack.sh install puts it there).
const require = createRequire(process.env.VERICODE_NODE_MODULES + "/");
const { chromium } = require("playwright-core");

const [base, outDir] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// Another device: a password login made from here (not the page), with a
// captcha whose answer the dev server tells, as Chrome on a Mac.
const MAC_CHROME = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
async function call(method, path, { token, body, agent } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers["Authorization"] = "Bearer " + token;
  if (agent) headers["User-Agent"] = agent;
  const resp = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await resp.text();
  return { status: resp.status, data: text ? JSON.parse(text) : null, text };
}
async function otherDevice(email, password) {
  const made = await call("POST", "/v1/captchas", { body: { locale: "en" } });
  if (made.status !== 200 && made.status !== 201) fail(`POST /v1/captchas → ${made.status}: ${made.text}`);
  const id = made.data.captcha_id;
  const { answer } = (await call("GET", `/_dev/captchas/${id}`)).data;
  const login = await call("POST", "/v1/sessions",
    { body: { email, password, captcha: { id, answer } }, agent: MAC_CHROME });
  if (login.status !== 200 || !login.data.token) fail(`the other device's login: POST /v1/sessions → ${login.status}: ${login.text}`);
  return login.data.token;
}
// What GET /v1/me answers a token.
const me = async (token) => (await call("GET", "/v1/me", { token })).status;

// An authenticator app (RFC 6238): HMAC-SHA1 of the 30-second time step,
// six digits, from the base32 secret the page shows.
const STEP = 30;
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const out = [];
  let bits = 0, value = 0;
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) fail(`not base32: ${text}`);
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) { bits -= 8; out.push((value >> bits) & 0xff); }
  }
  return Buffer.from(out);
}
function totpAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1e6).padStart(6, "0");
}
// Codes of ever later steps, as the server takes each step once per factor,
// with one step of skew either way: the earliest step not yet used that is
// still accepted, waiting for the clock when it is too far ahead (or when
// the step before now is about to fall out of the skew).
function authenticator(secret) {
  let last = -Infinity;
  return {
    secret,
    at: totpAt.bind(null, secret),
    async next() {
      for (;;) {
        const now = Date.now() / 1000;
        const current = Math.floor(now / STEP);
        const step = Math.max(last + 1, current - 1);
        const left = STEP - (now % STEP);
        if (step > current + 1 || (step === current - 1 && left < 3)) { await sleep((left + 0.3) * 1000); continue; }
        last = step;
        return { step, code: totpAt(secret, step) };
      }
    },
  };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// The pages work under their Content-Security-Policy: nothing is refused.
const refused = [];
const watch = (page) => page.on("console", (m) => {
  if (m.text().includes("Content Security Policy")) refused.push(m.text());
});

const LANGS = {
  en: { locale: "en-US", name: "Tester", title: "Vericode playground", ready: "ready", none: "none",
    loginAs: (who) => `Log in as ${who}?`, busy: "Too many requests", robot: "I'm not a robot",
    totp: "9. Authenticator app", mfa: "Code from the app", sessions: "10. Sessions", thisDevice: "this device",
    needsCode: "Adding an authenticator app needs a code sent to your account's address", missing: "step_up_token",
    enrolReady: "The step-up token is ready" },
  "zh-Hans": { locale: "zh-CN", name: "测试者", title: "Vericode 演示台", ready: "已就绪", none: "无",
    loginAs: (who) => `以 ${who} 的身份登录？`, busy: "请求过于频繁", robot: "我不是机器人",
    totp: "9. 身份验证器", mfa: "验证器应用中的验证码", sessions: "10. 登录设备", thisDevice: "当前设备",
    needsCode: "添加身份验证器需要一个发到你账号地址的验证码", missing: "step_up_token",
    enrolReady: "再次验证凭据已就绪" },
};

async function flows(lang, n) {
  const L = LANGS[lang];
  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 }, locale: L.locale });
  page.setDefaultTimeout(10000);
  watch(page);
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("captcha-image").src.startsWith("data:image/png;base64,"));
  await page.selectOption("#lang", lang);
  const title = await page.textContent("h1");
  if (title !== L.title) fail(`${lang}: title is ${title}`);

  const email = `browser-${lang.toLowerCase()}-${Date.now()}@example.com`;
  const phone = `+86138001380${String(n).padStart(2, "0")}`;
  const masked = email[0] + "***@example.com";

  const answer = async () => {
    const id = await page.evaluate(() => state.captchaId);
    const resp = await page.request.get(`${base}/_dev/captchas/${id}`);
    return (await resp.json()).answer;
  };
  // Clicks a button and waits for the response line it should produce.
  const act = async (selector, expect) => {
    await page.evaluate(() => { document.getElementById("result").textContent = ""; });
    await page.click(selector);
    await page.waitForFunction((e) => document.getElementById("result").textContent.includes(e), expect)
      .catch(async () => fail(`${lang}: ${selector} did not give "${expect}": ${await page.textContent("#result")}`));
    return page.textContent("#result");
  };
  // Waits for an element's text (filled in after a request that follows the one `act` saw).
  const shows = (selector, text, what) => page.waitForFunction(([s, t]) => {
    const el = document.querySelector(s);
    return el && el.textContent.includes(t);
  }, [selector, text]).catch(async () => fail(`${lang}: ${what}: ${await page.textContent(selector)}`));
  // Sends a code (with a fresh captcha) and waits for it in the outbox.
  const send = async (channel, purpose, to) => {
    await page.selectOption("#channel", channel);
    await page.selectOption("#purpose", purpose);
    await page.fill("#to", to);
    await page.fill("#captcha-answer", await answer());
    await page.evaluate(() => { document.getElementById("outbox").textContent = ""; });
    await act("#send-code", "POST /v1/codes → 202");
    await page.waitForFunction((p) => [...document.querySelectorAll("#outbox .outbox-item")]
      .some((m) => m.textContent.includes(" · " + p + " · ")), purpose);
    const code = (await page.textContent("#outbox .code")).trim();
    if (!/^(\d{6}|\d{10})$/.test(code)) fail(`${lang}: no ${purpose} code in the outbox: ${code}`);
    if ((await page.inputValue("#code")) !== code) fail(`${lang}: the code was not filled in`);
    // The input is sized from the send's `code_length`.
    const max = await page.evaluate(() => document.getElementById("code").maxLength);
    if (max !== code.length) fail(`${lang}: the code input takes ${max} digits, the code has ${code.length}`);
  };
  const verify = () => act("#verify-code", "POST /v1/codes/verify → 200");
  // Picks the proof of work and lets the widget solve a challenge.
  const prove = async (p) => {
    await p.selectOption("#captcha-kind", "pow");
    await p.click("#altcha input[type=checkbox]", { force: true });
    await p.waitForFunction(() => document.getElementById("altcha").getState() === "verified", null, { timeout: 30000 })
      .catch(() => fail(`${lang}: the widget did not solve its challenge`));
  };

  // Register by email code, with a display name.
  await send("email", "register", email);
  await verify();
  await page.fill("#password", "first password");
  await page.fill("#display-name", L.name);
  const registered = await act("#register", "POST /v1/accounts → 201");
  if (!registered.includes(email)) fail(`${lang}: registration did not return the account: ${registered}`);

  // Sessions: the registration's (this page) and a login from another
  // device (a Mac's Chrome, from here); end that one from the page.
  if ((await page.textContent("[data-i18n=sessions]")) !== L.sessions) fail(`${lang}: the sessions section is not in ${lang}`);
  const mac = await otherDevice(email, "first password");
  if ((await me(mac)) !== 200) fail(`${lang}: the other device's session does not work`);
  await act("#list-sessions", "GET /v1/me/sessions → 200");
  const rows = () => page.$$eval("#sessions .session", (items) => items.map((i) => ({
    text: i.textContent, current: i.classList.contains("current"), end: !!i.querySelector("button") })));
  const listed = await rows();
  if (listed.length !== 2) fail(`${lang}: not two sessions listed: ${JSON.stringify(listed)}`);
  const [ours, theirs] = [listed.filter((r) => r.current), listed.filter((r) => !r.current)];
  if (ours.length !== 1 || !ours[0].text.includes(L.thisDevice) || ours[0].end) fail(`${lang}: this device is not marked (${L.thisDevice}): ${JSON.stringify(listed)}`);
  if (!theirs[0].text.includes("Chrome on macOS") || !theirs[0].text.includes("127.0.0.0/24") || !theirs[0].end) {
    fail(`${lang}: the other device is not listed as Chrome on macOS: ${JSON.stringify(listed)}`);
  }
  await page.screenshot({ path: `${outDir}/sessions-${lang}.png`, fullPage: true });
  const ended = await act("#sessions .session:not(.current) button", "DELETE /v1/me/sessions/");
  if (!ended.includes(" → 204")) fail(`${lang}: the other session was not ended: ${ended}`);
  await page.waitForFunction(() => document.querySelectorAll("#sessions .session").length === 1)
    .catch(async () => fail(`${lang}: the ended session is still listed: ${await page.textContent("#sessions")}`));
  if ((await me(mac)) !== 401) fail(`${lang}: the ended session still works`);
  // Two more devices; end all the others: both die, this page's lives.
  const others = [await otherDevice(email, "first password"), await otherDevice(email, "first password")];
  await act("#list-sessions", "GET /v1/me/sessions → 200");
  if ((await rows()).length !== 3) fail(`${lang}: not three sessions listed: ${JSON.stringify(await rows())}`);
  await act("#end-others", "DELETE /v1/me/sessions?scope=others → 204");
  await page.waitForFunction(() => document.querySelectorAll("#sessions .session").length === 1)
    .catch(async () => fail(`${lang}: the other sessions are still listed: ${await page.textContent("#sessions")}`));
  for (const token of others) if ((await me(token)) !== 401) fail(`${lang}: an ended session still works`);
  await act("#me", "GET /v1/me → 200");
  await act("#list-sessions", "GET /v1/me/sessions → 200");
  const left = await rows();
  if (left.length !== 1 || !left[0].current || !left[0].text.includes(L.thisDevice)) fail(`${lang}: not just this device left: ${JSON.stringify(left)}`);

  // Log in by password with a fresh captcha; ask who we are.
  await page.fill("#captcha-answer", await answer());
  await act("#login", "POST /v1/sessions → 200");
  await act("#me", "GET /v1/me → 200");

  // Bind a phone: its bind code and a step-up (the current password), even
  // where the account has no phone yet.
  await send("sms", "bind", phone);
  await verify();
  await page.fill("#current-password", "first password");
  const bound = await act("#bind", "PUT /v1/me/phone → 200");
  if (!bound.includes(phone)) fail(`${lang}: the phone was not bound: ${bound}`);
  await page.fill("#current-password", "");

  // Step up with a verify code to the bound phone, then change the password.
  await send("sms", "verify", phone);
  await verify();
  if ((await page.textContent("#step-up-state")) !== L.ready) fail(`${lang}: no step-up token`);
  await page.fill("#new-password", "second password");
  await act("#change-password", "PUT /v1/me/password → 204");
  if ((await page.textContent("#step-up-state")) !== L.none) fail(`${lang}: the step-up token was kept`);

  // A login link: its page says whom it logs in and spends it only on a click.
  await act("#login-link", "POST /v1/login-links → 201");
  const link = await page.getAttribute("#login-link-url", "href");
  if (!link.startsWith(base + "/login?authorization=")) fail(`${lang}: the link does not point here: ${link}`);
  const login = await browser.newPage({ viewport: { width: 600, height: 400 }, locale: L.locale });
  watch(login);
  await login.goto(link);
  await login.goto(link);  // opened twice, as a scanner and then the user would
  const asking = L.loginAs(`${L.name} (${masked})`);
  await login.waitForFunction((t) => document.getElementById("title").textContent === t, asking)
    .catch(async () => fail(`${lang}: the link page asks "${await login.textContent("#title")}"`));
  await login.screenshot({ path: `${outDir}/login-${lang}.png` });
  await login.click("#go");
  await login.waitForFunction(() => document.getElementById("result").textContent.length > 0);
  const who = await login.textContent("#result");
  if (!who.includes(email)) fail(`${lang}: the link did not log in: ${who}`);
  await login.close();

  // /login without a link: a password login, with the proof of work.
  const own = await browser.newPage({ viewport: { width: 600, height: 700 }, locale: L.locale });
  watch(own);
  own.setDefaultTimeout(10000);
  await own.goto(base + "/login");
  await own.waitForFunction(() => document.getElementById("captcha-image").src.startsWith("data:image/png"));
  await own.selectOption("#captcha-kind", "pow");
  await own.getByText(L.robot).waitFor().catch(() => fail(`${lang}: the widget does not speak ${lang}`));
  await prove(own);
  await own.fill("#address", email);
  await own.fill("#password", "second password");
  await own.click("#log-in");
  await own.waitForFunction(() => document.getElementById("result").textContent.length > 0);
  const mine = await own.textContent("#result");
  if (!mine.includes(email)) fail(`${lang}: /login with the widget did not log in: ${mine}`);
  await own.screenshot({ path: `${outDir}/login-password-${lang}.png` });
  await own.close();

  // An invite.
  await act("#create-invite", "POST /v1/invites → 201");
  if (!(await page.textContent("#invite-code")).trim()) fail(`${lang}: no invite shown`);

  // Forgot the password: reset it with a code, sent with the proof of work.
  await prove(page);
  await page.selectOption("#channel", "email");
  await page.selectOption("#purpose", "reset_password");
  await page.fill("#to", email);
  await act("#send-code", "POST /v1/codes → 202");
  await page.selectOption("#captcha-kind", "image");
  await page.click("#refresh-outbox");
  await page.waitForFunction(() => [...document.querySelectorAll("#outbox .outbox-item")]
    .some((m) => m.textContent.includes(" · reset_password · ")));
  await verify();
  await page.fill("#new-password", "third password");
  await act("#reset-password", "POST /v1/password-resets → 204");

  // Log in by code, then by the new password.
  await send("email", "login", email);
  await verify();
  await act("#login-code", "POST /v1/sessions → 200");
  await page.fill("#password", "third password");
  await page.fill("#captcha-answer", await answer());
  await act("#login", "POST /v1/sessions → 200");
  await page.screenshot({ path: `${outDir}/playground-${lang}.png`, fullPage: true });

  // A second login code within the minute is refused, in this language.
  await page.fill("#captcha-answer", await answer());
  const busy = await act("#send-code", "POST /v1/codes → 429");
  if (!busy.includes(L.busy)) fail(`${lang}: the error is not in ${lang}: ${busy}`);

  // An authenticator app. The password alone is not a step-up for adding
  // one: the server answers that `step_up_token` is missing, and the page
  // says a code to the account's address is needed, and offers to send it.
  if ((await page.textContent("[data-i18n=totp]")) !== L.totp) fail(`${lang}: the authenticator section is not in ${lang}`);
  await page.fill("#current-password", "third password");
  const byPassword = await act("#totp-enrol", "POST /v1/me/factors/totp → 400");
  if (!byPassword.includes('"code": "invalid_request"') || !byPassword.includes('"field": "step_up_token"')) {
    fail(`${lang}: the password alone was not refused for want of step_up_token: ${byPassword}`);
  }
  await page.waitForSelector("#totp-needs-code:not([hidden])")
    .catch(() => fail(`${lang}: the page does not say that adding an app needs a code`));
  const needs = await page.textContent("#totp-needs-code-text");
  if (!needs.includes(L.needsCode)) fail(`${lang}: the note is not in ${lang}: ${needs}`);
  if (!(await page.isHidden("#totp-enrolment"))) fail(`${lang}: an enrolment shown after the refusal`);
  await page.screenshot({ path: `${outDir}/totp-${lang}-needs-code.png`, fullPage: true });
  await page.fill("#current-password", "");
  // One click: a `verify` code to the account's email, by section 2's send.
  await page.evaluate(() => { document.getElementById("outbox").textContent = ""; });
  await act("#totp-step-up", "POST /v1/codes → 202");
  if ((await page.inputValue("#channel")) !== "email" || (await page.inputValue("#purpose")) !== "verify"
    || (await page.inputValue("#to")) !== email) {
    fail(`${lang}: the step-up code was not sent as a verify code to ${email}`);
  }
  await page.waitForFunction(() => [...document.querySelectorAll("#outbox .outbox-item")]
    .some((m) => m.textContent.includes(" · verify · ")));
  const mailbox = await (await page.request.get(`${base}/_dev/messages?to=${encodeURIComponent(email)}`)).json();
  const stepUpCode = (mailbox.messages.find((m) => m.purpose === "verify") || {}).code;
  if (!/^\d{6,10}$/.test(stepUpCode || "")) fail(`${lang}: no verify code in /_dev/messages: ${JSON.stringify(mailbox)}`);
  if ((await page.inputValue("#code")) !== stepUpCode) fail(`${lang}: the step-up code was not filled in`);
  await page.fill("#code", stepUpCode);
  await verify();
  if ((await page.textContent("#step-up-state")) !== L.ready) fail(`${lang}: no step-up token`);
  if (!(await page.textContent("#totp-needs-code-text")).includes(L.enrolReady)) fail(`${lang}: the note does not say the token is ready`);
  // Enrol with the token: the page shows the QR code, the secret and the
  // otpauth URI, and the token is spent.
  await act("#totp-enrol", "POST /v1/me/factors/totp → 201");
  if ((await page.textContent("#step-up-state")) !== L.none) fail(`${lang}: the step-up token was kept`);
  if (!(await page.isHidden("#totp-needs-code"))) fail(`${lang}: the note stayed after the enrolment`);
  await page.waitForFunction(() => document.getElementById("totp-qr").naturalWidth > 0)
    .catch(() => fail(`${lang}: the QR code is not shown`));
  const secret = (await page.textContent("#totp-secret")).trim();
  if (!/^[A-Z2-7]{32}$/.test(secret)) fail(`${lang}: no base32 secret shown: ${secret}`);
  const uri = await page.textContent("#totp-uri");
  if (!uri.startsWith("otpauth://totp/") || !uri.includes("secret=" + secret)) fail(`${lang}: the otpauth URI is wrong: ${uri}`);
  await shows("#factors", await page.evaluate(() => T[lang()].pending), "the enrolment is not listed as pending");
  await page.screenshot({ path: `${outDir}/totp-${lang}.png`, fullPage: true });

  // Confirm with a code computed from the secret: ten recovery codes, shown once.
  const app = authenticator(secret);
  const first = await app.next();
  await page.fill("#totp-code", first.code);
  await act("#totp-confirm", "POST /v1/me/factors/totp/confirm → 200");
  const recovery = await page.$$eval("#recovery-codes li", (items) => items.map((i) => i.textContent));
  if (recovery.length !== 10 || !recovery.every((c) => /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/.test(c))) {
    fail(`${lang}: not ten recovery codes: ${recovery.join(" ")}`);
  }
  await shows("#factors", await page.evaluate(() => T[lang()].confirmed), "the authenticator is not listed as confirmed");
  await shows("#codes-left", "10", "the list does not count ten recovery codes");
  await page.screenshot({ path: `${outDir}/totp-${lang}-confirmed.png`, fullPage: true });

  // Log out; a password login now asks for the second step.
  const loginFirstStep = async () => {
    await act("#logout", "DELETE /v1/sessions/current → 204");
    await page.fill("#password", "third password");
    await page.fill("#captcha-answer", await answer());
    const first = await act("#login", "POST /v1/sessions → 200");
    if (!first.includes('"mfa_required": true')) fail(`${lang}: the login did not ask for a second step: ${first}`);
    if (await page.isHidden("#mfa-form")) fail(`${lang}: no second-step form`);
    if (await page.evaluate(() => state.token)) fail(`${lang}: a session before the second step`);
    if ((await page.textContent("label[for=mfa-totp]")) !== L.mfa) fail(`${lang}: the second step is not in ${lang}`);
  };
  await loginFirstStep();
  await page.screenshot({ path: `${outDir}/totp-${lang}-second-step.png`, fullPage: true });
  // The confirmation's code again: its step is used up.
  await page.fill("#mfa-totp", first.code);
  await act("#mfa-submit", "POST /v1/sessions/mfa → 401");
  if (await page.isHidden("#mfa-form")) fail(`${lang}: the second-step form went away after a wrong code`);
  // A code of a step not used yet logs in.
  const second = await app.next();
  await page.fill("#mfa-totp", second.code);
  const session = await act("#mfa-submit", "POST /v1/sessions/mfa → 200");
  if (!session.includes(email)) fail(`${lang}: the second step did not log in: ${session}`);
  if (!(await page.isHidden("#mfa-form"))) fail(`${lang}: the second-step form stayed after logging in`);
  await act("#me", "GET /v1/me → 200");

  // Again, with a recovery code.
  await loginFirstStep();
  await page.fill("#mfa-recovery", recovery[0]);
  await act("#mfa-submit", "POST /v1/sessions/mfa → 200");
  await act("#me", "GET /v1/me → 200");
  await act("#list-factors", "GET /v1/me/factors → 200");
  await shows("#codes-left", "9", "the recovery code was not used up");


  // A login link opened on /login asks for the second step too.
  await act("#login-link", "POST /v1/login-links → 201");
  const again = await page.getAttribute("#login-link-url", "href");
  const linked = await browser.newPage({ viewport: { width: 600, height: 600 }, locale: L.locale });
  watch(linked);
  linked.setDefaultTimeout(10000);
  await linked.goto(again);
  await linked.waitForFunction((t) => document.getElementById("title").textContent === t, asking);
  await linked.click("#go");
  await linked.waitForSelector("#mfa-form:not([hidden])")
    .catch(async () => fail(`${lang}: /login did not ask for a second step: ${await linked.textContent("#result")}`));
  if ((await linked.textContent("#mfa-totp-label")) !== L.mfa) fail(`${lang}: /login's second step is not in ${lang}`);
  await linked.fill("#mfa-recovery", recovery[1].toUpperCase());  // typed as read
  await linked.screenshot({ path: `${outDir}/login-${lang}-second-step.png` });
  await linked.click("#mfa-go");
  await linked.waitForFunction(() => document.getElementById("result").textContent.length > 0);
  const viaLink = await linked.textContent("#result");
  if (!viaLink.includes(email) || (await linked.isHidden("#session"))) fail(`${lang}: the link's second step did not log in: ${viaLink}`);
  // /login's password form too (with the image captcha).
  await linked.goto(base + "/login");
  await linked.waitForFunction(() => document.getElementById("captcha-image").src.startsWith("data:image/png"));
  const linkedId = await linked.evaluate(() => captchaId);
  const linkedAnswer = (await (await page.request.get(`${base}/_dev/captchas/${linkedId}`)).json()).answer;
  await linked.fill("#address", email);
  await linked.fill("#password", "third password");
  await linked.fill("#captcha-answer", linkedAnswer);
  await linked.click("#log-in");
  await linked.waitForSelector("#mfa-form:not([hidden])")
    .catch(async () => fail(`${lang}: /login's password form did not ask for a second step: ${await linked.textContent("#result")}`));
  await linked.fill("#mfa-recovery", recovery[2]);
  await linked.click("#mfa-go");
  await linked.waitForFunction(() => document.getElementById("result").textContent.length > 0);
  const viaPassword = await linked.textContent("#result");
  if (!viaPassword.includes(email) || !(await linked.isHidden("#mfa-form"))) fail(`${lang}: /login's second step did not log in: ${viaPassword}`);
  await linked.close();

  // Two more recovery codes used on /login.
  await act("#list-factors", "GET /v1/me/factors → 200");
  await shows("#codes-left", "7", "the recovery codes used on /login were not used up");

  // New recovery codes (the password as the step-up).
  await page.fill("#current-password", "third password");
  await act("#renew-recovery", "POST /v1/me/factors/recovery-codes → 200");
  await page.fill("#current-password", "");
  const renewed = await page.$$eval("#recovery-codes li", (items) => items.map((i) => i.textContent));
  if (renewed.length !== 10 || renewed.some((c) => recovery.includes(c))) fail(`${lang}: no fresh recovery codes: ${renewed.join(" ")}`);
  await shows("#codes-left", "10", "the list does not count the new codes");

  // Remove the authenticator, with a code from it as the step-up.
  const third = await app.next();
  await page.fill("#step-up-totp", third.code);
  await act(".factor button.danger", "DELETE /v1/me/factors/");
  const removed = await page.textContent("#result");
  if (!removed.includes(" → 204")) fail(`${lang}: the authenticator was not removed: ${removed}`);
  if ((await page.inputValue("#step-up-totp")) !== "") fail(`${lang}: the spent app code was kept`);
  await page.waitForFunction(() => !document.querySelector(".factor"))
    .catch(() => fail(`${lang}: the authenticator is still listed`));
  // A password login gives a session at once again.
  await page.fill("#captcha-answer", await answer());
  const direct = await act("#login", "POST /v1/sessions → 200");
  if (!direct.includes('"token"') || !(await page.isHidden("#mfa-form"))) fail(`${lang}: the login still asks for a second step: ${direct}`);

  // Delete the account with the current password: the session dies with it.
  await page.fill("#current-password", "third password");
  await act("#delete-account", "DELETE /v1/me → 204");
  await act("#me", "GET /v1/me → 401");
  await page.screenshot({ path: `${outDir}/playground-${lang}-deleted.png`, fullPage: true });
  await page.close();
}

let failed = 0;
try {
  for (const [n, lang] of Object.keys(LANGS).entries()) {
    try {
      await flows(lang, n);
    } catch (e) {
      failed += 1;
      console.error(`playground (${lang}): ${e.message}`);
    }
  }
  if (refused.length) { failed += 1; console.error("a page broke its own policy: " + refused.join(" | ")); }
} finally {
  await browser.close();
}
console.log(`browser: ${2 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
