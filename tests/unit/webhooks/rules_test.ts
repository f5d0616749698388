import assert from "node:assert/strict";
import type { WebhookRule } from "../../../src/registry/model.ts";
import { triggeredRules } from "../../../src/webhooks/rules.ts";
import { render, templateProblem } from "../../../src/webhooks/template.ts";

const configure: WebhookRule = {
  label: "webhooks[0] repository.created",
  event: "repository",
  action: "created",
  target: {
    kind: "dispatch",
    repository: "acme/github-cop",
    workflow: "configure.yml",
    ref: "main",
    inputs: { repo: "{{ event.repository.name }}", id: "{{ event.repository.id }}" },
  },
};
const mirror: WebhookRule = {
  label: "webhooks[1] push",
  event: "push",
  target: {
    kind: "repository_dispatch",
    repository: "{{ event.repository.full_name }}",
    eventType: "upstream-push",
    clientPayload: {
      ref: "{{ event.ref }}",
      note: "pushed {{ event.ref }} by {{ event.pusher.name }}",
    },
  },
};

Deno.test("rules: event and action must match; lookups fill the target", () => {
  const created = { action: "created", repository: { name: "app", id: 42, full_name: "acme/app" } };
  assert.deepEqual(triggeredRules([configure, mirror], "repository", created), [{
    rule: configure,
    call: {
      path: "/repos/acme/github-cop/actions/workflows/configure.yml/dispatches",
      body: { ref: "main", inputs: { repo: "app", id: 42 } },
    },
  }]);
  assert.deepEqual(
    triggeredRules([configure], "repository", { ...created, action: "deleted" }),
    [],
  );
  const push = {
    ref: "refs/heads/main",
    repository: { full_name: "acme/app" },
    pusher: { name: "o" },
  };
  assert.deepEqual(triggeredRules([configure, mirror], "push", push), [{
    rule: mirror,
    call: {
      path: "/repos/acme/app/dispatches",
      body: {
        event_type: "upstream-push",
        client_payload: { ref: "refs/heads/main", note: "pushed refs/heads/main by o" },
      },
    },
  }]);
});

Deno.test("rules: a missing field or a filled repository that is not owner/name skips the rule", () => {
  assert.deepEqual(triggeredRules([configure], "repository", { action: "created" }), [
    { rule: configure, skipped: "event.repository.name is not in the payload" },
  ]);
  assert.deepEqual(
    triggeredRules([mirror], "push", {
      ref: "x",
      pusher: { name: "o" },
      repository: { full_name: "../x" },
    }),
    [{ rule: mirror, skipped: 'repository "../x" is not owner/name' }],
  );
});

Deno.test("rules: a repository or workflow filled as . or .. skips the rule, as a missing field does", () => {
  const byEvent: WebhookRule = {
    label: "webhooks[2] repository.created",
    event: "repository",
    target: {
      kind: "dispatch",
      repository: "acme/{{ event.repository.name }}",
      workflow: "{{ event.repository.description }}",
      ref: "main",
      inputs: {},
    },
  };
  const fired = (name: string, description: string) =>
    triggeredRules([byEvent], "repository", { repository: { name, description } });
  assert.deepEqual(fired("..", "w.yml"), [
    { rule: byEvent, skipped: 'repository "acme/.." is not owner/name' },
  ]);
  assert.deepEqual(fired(".", "w.yml"), [
    { rule: byEvent, skipped: 'repository "acme/." is not owner/name' },
  ]);
  assert.deepEqual(fired("app", ".."), [
    { rule: byEvent, skipped: 'workflow ".." is not a file name or id' },
  ]);
  assert.deepEqual(fired("app", "."), [
    { rule: byEvent, skipped: 'workflow "." is not a file name or id' },
  ]);
  assert.deepEqual(fired("..app", "w.yml"), [{
    rule: byEvent,
    call: {
      path: "/repos/acme/..app/actions/workflows/w.yml/dispatches",
      body: { ref: "main", inputs: {} },
    },
  }]);
  assert.deepEqual(
    triggeredRules([mirror], "push", {
      ref: "x",
      pusher: { name: "o" },
      repository: { full_name: "acme/.." },
    }),
    [{ rule: mirror, skipped: 'repository "acme/.." is not owner/name' }],
  );
});

Deno.test("template: only {{ event.path }} lookups; null is a value, absence is missing", () => {
  assert.equal(templateProblem("{{ event.a.b }}-{{event.c}}"), undefined);
  assert.match(templateProblem("{{ env.X }}") ?? "", /only \{\{ event/);
  assert.match(templateProblem("{{ event.a }} }}") ?? "", /only/);
  assert.deepEqual(render("{{ event.a }}", { a: null }), { value: null });
  assert.deepEqual(render("{{ event.list.0 }}", { list: ["x"] }), { value: "x" });
  assert.deepEqual(render(["{{ event.a.b }}"], { a: {} }), { missing: "event.a.b" });
  assert.deepEqual(render("{{ event.toString }}", {}), { missing: "event.toString" });
});
