// altcha-lib (the ALTCHA server library, in Node) against Vericode's proof
// of work, driven by tests/tests/altcha_interop.rs:
//   node altcha.mjs solve CHALLENGE_JSON        altcha-lib's solver: prints the widget's payload
//   node altcha.mjs verify PAYLOAD SECRET KEY    altcha-lib's verifySolution: prints the result
//   node altcha.mjs create SECRET KEY COST EXPIRES_AT
//                                                altcha-lib's createChallenge (deterministic,
//                                                key-signed): prints the challenge
import { createRequire } from "node:module";

// altcha-lib lives in the tool cache (scripts/stack.sh install puts it there).
const require = createRequire(process.env.VERICODE_NODE_MODULES + "/");
const { createChallenge, randomInt, solveChallenge, verifySolution } = require("altcha-lib");
const { deriveKey } = require("altcha-lib/algorithms/pbkdf2");

const [mode, ...args] = process.argv.slice(2);
if (mode === "solve") {
  const challenge = JSON.parse(args[0]);
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) throw new Error("no solution found");
  const payload = { challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution };
  process.stdout.write(Buffer.from(JSON.stringify(payload)).toString("base64"));
} else if (mode === "verify") {
  const [raw, secret, keySecret] = args;
  const { challenge, solution } = JSON.parse(Buffer.from(raw, "base64").toString());
  const result = await verifySolution({
    challenge, solution, deriveKey, hmacSignatureSecret: secret, hmacKeySignatureSecret: keySecret,
  });
  process.stdout.write(JSON.stringify(result));
} else if (mode === "create") {
  const [secret, keySecret, cost, expiresAt] = args;
  const challenge = await createChallenge({
    algorithm: "PBKDF2/SHA-256", cost: Number(cost), counter: randomInt(200, 100), deriveKey,
    expiresAt: Number(expiresAt), hmacSignatureSecret: secret, hmacKeySignatureSecret: keySecret,
  });
  process.stdout.write(JSON.stringify(challenge));
} else {
  throw new Error(`unknown mode ${mode}`);
}
