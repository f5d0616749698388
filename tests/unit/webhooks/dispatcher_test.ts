import assert from "node:assert/strict";
import type { Admitted } from "../../../src/admit/admit.ts";
import type { UpstreamRequest } from "../../../src/http/upstream.ts";
import type { LogFields, Logger } from "../../../src/log.ts";
import type { Client } from "../../../src/registry/model.ts";
import { Dispatcher, type DispatchJob } from "../../../src/webhooks/dispatcher.ts";

const JOB: DispatchJob = {
  delivery: "d-1",
  rule: "webhooks[0] repository.created",
  call: { path: "/repos/Acme-Ops/cop/dispatches", body: { event_type: "created" } },
};

/** A dispatcher whose transport answers `status`, with what it sent and logged. */
function dispatcher(status: number, retryDelayMs: number) {
  const sent: UpstreamRequest[] = [];
  const lines: { message: string; fields?: LogFields }[] = [];
  const log = (message: string, fields?: LogFields) => lines.push({ message, fields });
  const logger: Logger = { debug: log, info: log, warn: log, error: log };
  const admitted: Admitted = { admission: { newCall: () => undefined }, leave() {} } as never;
  const it = new Dispatcher({
    transport: (request) => {
      sent.push(request);
      return Promise.resolve({ response: new Response(null, { status }), credential: "A", ms: 1 });
    },
    apiUrl: "https://api.github.test",
    client: () => ({ name: "webhooks" }) as Client,
    admit: () => Promise.resolve(admitted),
    logger,
    counted: () => {},
    retryDelayMs,
  });
  return { it, sent, lines };
}

Deno.test("dispatcher: a call is routed by the account its path names, as a client's call is", async () => {
  const { it, sent } = dispatcher(204, 1);
  it.enqueue(JOB);
  await it.settled();
  assert.deepEqual(sent.map((request) => request.account), ["acme-ops"]);
});

Deno.test("dispatcher: a dispatch cut short by close during a retry wait logs the attempts made", async () => {
  const { it, sent, lines } = dispatcher(502, 60_000);
  it.enqueue(JOB);
  while (sent.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  await new Promise((resolve) => setTimeout(resolve, 5));
  await it.close();
  const failed = lines.find((line) => line.message === "webhook dispatch failed");
  assert.equal(failed?.fields?.attempts, 1);
  assert.equal(sent.length, 1);
});
