/** `GITHUB_PAT_*` and `GITHUB_APP_*` as credentials, and every problem named, never a secret. */
import assert from "node:assert/strict";
import { type AppSource, parseCredentials } from "../../../src/credentials/sources.ts";
import { generateAppKey } from "../../support/fake_github.ts";

function problems(env: Record<string, string>): string[] {
  return [...parseCredentials(env).problems];
}

Deno.test("PATs and complete App triples become named credentials; PKCS#1 and PKCS#8 both load", async () => {
  const pkcs1 = await generateAppKey("pkcs1");
  const pkcs8 = await generateAppKey("pkcs8");
  const { credentials, problems: found } = parseCredentials({
    GITHUB_PAT_CI: " ghp_one ",
    GITHUB_PAT_ALPHA: "ghp_a",
    GITHUB_APP_OLD_ID: "1",
    GITHUB_APP_OLD_INSTALLATION_ID: "10",
    GITHUB_APP_OLD_PEM: pkcs1.privateKeyPem,
    GITHUB_APP_NEW_ID: "2",
    GITHUB_APP_NEW_INSTALLATION_ID: "20",
    GITHUB_APP_NEW_PEM: pkcs8.privateKeyPem.replaceAll("\n", "\\n"),
    GITHUB_PATTERN: "not a credential",
  });
  assert.deepEqual(found, []);
  // PATs first, then Apps, each sorted by name.
  assert.deepEqual(credentials.map((c) => [c.kind, c.name]), [
    ["pat", "ALPHA"],
    ["pat", "CI"],
    ["app", "NEW"],
    ["app", "OLD"],
  ]);
  assert.equal(credentials[1].kind === "pat" && credentials[1].token, "ghp_one");
  const app = credentials.find((c) => c.name === "NEW") as AppSource;
  assert.equal(app.appId, "2");
  assert.equal(app.installationId, "20");
  assert.equal(app.privateKey, pkcs8.privateKeyPem, "one-line PEMs with \\n are unfolded");
  const old = credentials.find((c) => c.name === "OLD") as AppSource;
  assert.equal(old.privateKey, pkcs1.privateKeyPem.trim() + "\n");
});

Deno.test("an incomplete or unreadable App triple is a start-up error naming it, never its key", () => {
  const found = problems({
    GITHUB_APP_HALF_ID: "1",
    GITHUB_APP_HALF_INSTALLATION_ID: "10",
    GITHUB_APP_BROKEN_ID: "2",
    GITHUB_APP_BROKEN_INSTALLATION_ID: "3",
    GITHUB_APP_BROKEN_PEM:
      "-----BEGIN RSA PRIVATE KEY-----\nsecret-garbage\n-----END RSA PRIVATE KEY-----",
  });
  assert.equal(found.length, 2);
  assert.ok(found.some((p) => p.includes("HALF") && p.includes("GITHUB_APP_HALF_PEM")));
  assert.ok(found.some((p) => p.includes("GITHUB_APP_BROKEN_PEM")));
  assert.ok(found.every((p) => !p.includes("secret-garbage") && !p.includes("MII")));
});

Deno.test("an App without an installation id is a root whose installations are discovered", async () => {
  const { privateKeyPem } = await generateAppKey();
  const { credentials, problems: found } = parseCredentials({
    GITHUB_APP_BOT_ID: "1",
    GITHUB_APP_BOT_PEM: privateKeyPem,
  });
  assert.deepEqual(found, []);
  assert.equal((credentials[0] as AppSource).installationId, undefined);
});

Deno.test("a PAT and an App with the same name are a start-up error naming both variables", async () => {
  const { privateKeyPem } = await generateAppKey();
  const found = problems({
    GITHUB_PAT_BOT: "ghp_secret_bot",
    GITHUB_APP_BOT_ID: "1",
    GITHUB_APP_BOT_INSTALLATION_ID: "10",
    GITHUB_APP_BOT_PEM: privateKeyPem,
    GITHUB_PAT_bot: "ghp_other",
  });
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /\bGITHUB_PAT_BOT\b/);
  assert.match(found[0], /\bGITHUB_APP_BOT_\*/);
  assert.ok(!found[0].includes("ghp_secret_bot"));
});
