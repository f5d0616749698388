import assert from "node:assert/strict";
import { type AppSource, ConfigError, parseConfig } from "../../../src/config.ts";
import { generateAppKey } from "../../support/fake_github.ts";

const BASE = { CLIENT_REGISTRY_FILE_PATH: "/etc/github-proxy/registry.yaml" };

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig({ ...BASE, ...env });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
}

Deno.test("PATs and complete App triples become named credentials; PKCS#1 and PKCS#8 both load", async () => {
  const pkcs1 = await generateAppKey("pkcs1");
  const pkcs8 = await generateAppKey("pkcs8");
  const config = parseConfig({
    ...BASE,
    GITHUB_PAT_CI: "ghp_one",
    GITHUB_APP_OLD_ID: "1",
    GITHUB_APP_OLD_INSTALLATION_ID: "10",
    GITHUB_APP_OLD_PEM: pkcs1.privateKeyPem,
    GITHUB_APP_NEW_ID: "2",
    GITHUB_APP_NEW_INSTALLATION_ID: "20",
    GITHUB_APP_NEW_PEM: pkcs8.privateKeyPem.replaceAll("\n", "\\n"),
  });
  assert.deepEqual(config.credentials.map((c) => [c.kind, c.name]).sort(), [
    ["app", "NEW"],
    ["app", "OLD"],
    ["pat", "CI"],
  ]);
  const app = config.credentials.find((c) => c.name === "NEW") as AppSource;
  assert.equal(app.privateKey, pkcs8.privateKeyPem, "one-line PEMs with \\n are unfolded");
});

Deno.test("an incomplete or unreadable App triple is a start-up error naming it, never its key", async () => {
  const { privateKeyPem } = await generateAppKey();
  const found = problems({
    GITHUB_APP_HALF_ID: "1",
    GITHUB_APP_HALF_PEM: privateKeyPem,
    GITHUB_APP_BROKEN_ID: "2",
    GITHUB_APP_BROKEN_INSTALLATION_ID: "3",
    GITHUB_APP_BROKEN_PEM:
      "-----BEGIN RSA PRIVATE KEY-----\nsecret-garbage\n-----END RSA PRIVATE KEY-----",
  });
  assert.equal(found.length, 2);
  assert.ok(found.some((p) => p.includes("HALF") && p.includes("GITHUB_APP_HALF_INSTALLATION_ID")));
  assert.ok(found.some((p) => p.includes("GITHUB_APP_BROKEN_PEM")));
  assert.ok(found.every((p) => !p.includes("secret-garbage") && !p.includes("MII")));
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
