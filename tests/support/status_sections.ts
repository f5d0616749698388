/**
 * A gateway whose `/status` has its optional sections filled, for the status tests (JSON and
 * browser): a GitHub App discovered on `acme`, a client served with narrowed tokens that has read
 * `/repos/acme/site`, and a signed `repository` `created` delivery whose rule sent one workflow
 * dispatch (with the installation's full-access token). `METRICS_TOKEN` is `metrics-token-secret`.
 */
import assert from "node:assert/strict";
import { generateAppKey } from "./fake_github.ts";
import { type FakeAndGateway, fakeAndGateway } from "./fixtures.ts";
import { sendDelivery } from "./webhook_sender.ts";

/** The fixture and the id of the delivery it sent. */
export interface StatusSections {
  readonly fixture: FakeAndGateway;
  readonly deliveryId: string;
}

const REGISTRY = `version: 1
clients:
  - name: site-bot
    token: site-token-secret
    github_token:
      repositories: [site]
      permissions: { contents: read }
webhooks:
  - on: repository.created
    dispatch: { repository: acme/github-cop, workflow: configure.yml, ref: main }
`;

/** Starts the gateway and sends its traffic; dispose of `fixture` when done. */
export async function withStatusSections(): Promise<StatusSections> {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  const fixture = await fakeAndGateway({
    fake: { apps: [{ id: "77", installations: [{ id: "501", account: "acme" }], publicKeyPem }] },
    gateway: { registry: REGISTRY },
    env: {
      GITHUB_APP_BOT_ID: "77",
      GITHUB_APP_BOT_PEM: privateKeyPem,
      GITHUB_WEBHOOK_SECRET: "hook-secret",
      METRICS_TOKEN: "metrics-token-secret",
    },
  });
  try {
    return { fixture, deliveryId: await sendTraffic(fixture) };
  } catch (error) {
    await fixture[Symbol.asyncDispose]();
    throw error;
  }
}

/** The narrowed read and the delivery; resolves to the delivery's id once it is worked. */
async function sendTraffic({ fake, gw }: FakeAndGateway): Promise<string> {
  fake.dispatches.addWorkflow("acme/github-cop", "configure.yml");
  const read = await fetch(`${gw.url}/repos/acme/site`, {
    headers: { authorization: "token site-token-secret" },
  });
  assert.equal(read.status, 200);
  await read.body?.cancel();
  const { response, id } = await sendDelivery(gw.url, {
    event: "repository",
    payload: { action: "created", repository: { name: "new", full_name: "acme/new" } },
    secret: "hook-secret",
  });
  assert.equal(response.status, 202);
  await response.body?.cancel();
  await gw.gateway.webhooks.settled();
  return id;
}
