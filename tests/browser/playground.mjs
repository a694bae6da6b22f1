// Clicks through the dev server's playground in headless Chromium:
// captcha → send a code → outbox → verify → register, then the Chinese
// version. Saves screenshots next to the target directory.
//   node playground.mjs http://127.0.0.1:PORT OUTDIR
import { createRequire } from "node:module";

// playwright-core lives in the tool cache (scripts/stack.sh install puts it there).
const require = createRequire(process.env.VERICODE_NODE_MODULES + "/");
const { chromium } = require("playwright-core");

const [base, outDir] = process.argv.slice(2);
const fail = (msg) => { console.error("playground: " + msg); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(10000);
  // The page works under its Content-Security-Policy: nothing is refused.
  const refused = [];
  page.on("console", (m) => { if (m.text().includes("Content Security Policy")) refused.push(m.text()); });
  await page.goto(base + "/");
  await page.waitForFunction(() => document.getElementById("captcha-image").src.startsWith("data:image/png;base64,"));

  const email = `browser-${Date.now()}@example.com`;
  const answerFor = async () => {
    const id = await page.evaluate(() => state.captchaId);
    const resp = await page.request.get(`${base}/_dev/captchas/${id}`);
    return (await resp.json()).answer;
  };
  await page.fill("#captcha-answer", await answerFor());
  await page.fill("#to", email);
  await page.click("#send-code");
  await page.waitForSelector("#outbox .code");
  const code = (await page.textContent("#outbox .code")).trim();
  if (!/^\d{6}$/.test(code)) fail("no code in the outbox: " + code);
  if ((await page.inputValue("#code")) !== code) fail("the code was not filled in");

  await page.click("#verify-code");
  await page.waitForFunction(() => document.getElementById("result").textContent.includes("verification_token"));
  await page.fill("#password", "browser password");
  await page.click("#register");
  await page.waitForFunction(() => document.getElementById("result").textContent.includes("→ 201"));
  const result = await page.textContent("#result");
  if (!result.includes(email)) fail("registration did not return the account: " + result);
  await page.screenshot({ path: `${outDir}/playground-en.png`, fullPage: true });

  // Log in with a fresh captcha, then ask who we are.
  await page.fill("#captcha-answer", await answerFor());
  await page.click("#login");
  await page.waitForFunction(() => document.getElementById("result").textContent.includes("POST /v1/sessions → 200"));
  await page.click("#me");
  await page.waitForFunction(() => document.getElementById("result").textContent.includes("GET /v1/me → 200"));

  // A login link opens this server's /login, which spends it only on a click.
  const token = await page.evaluate(() => state.token);
  const made = await page.request.post(`${base}/v1/login-links`, { headers: { authorization: `Bearer ${token}` }, data: {} });
  const link = (await made.json()).url;
  if (!link.startsWith(base + "/login?authorization=")) fail("the link does not point here: " + link);
  const login = await browser.newPage({ viewport: { width: 600, height: 400 } });
  login.on("console", (m) => { if (m.text().includes("Content Security Policy")) refused.push(m.text()); });
  await login.goto(link);
  await login.goto(link);  // opened twice, as a scanner and then the user would
  await login.click("#go");
  await login.waitForFunction(() => document.getElementById("result").textContent.length > 0);
  const who = await login.textContent("#result");
  if (!who.includes(email)) fail("the link did not log in: " + who);
  await login.screenshot({ path: `${outDir}/login-en.png` });
  await login.close();

  // The Chinese version.
  await page.selectOption("#lang", "zh-Hans");
  const title = await page.textContent("h1");
  if (title !== "Vericode 演示台") fail("no Chinese title: " + title);
  // A second code within the minute is refused, in Chinese (a session does
  // not waive the captcha for sign-up codes, so a fresh one is solved).
  await page.fill("#captcha-answer", await answerFor());
  await page.click("#send-code");
  await page.waitForFunction(() => document.getElementById("result").textContent.includes("→ 429"));
  const zh = await page.textContent("#result");
  if (!zh.includes("请求过于频繁")) fail("errors are not in Chinese: " + zh);
  await page.screenshot({ path: `${outDir}/playground-zh.png`, fullPage: true });
  if (refused.length) fail("the page broke its own policy: " + refused.join(" | "));
  console.log("browser: 1 passed, 0 failed");
} finally {
  await browser.close();
}
