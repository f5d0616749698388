import assert from "node:assert/strict";
import { parseRegistry, RegistryError } from "../../../src/registry/parse.ts";

const HEAD = `version: 1
clients:
  - name: ci
    token: t-ci
webhooks:
`;

function problemsOf(rules: string): string[] {
  try {
    parseRegistry(HEAD + rules, "r.yaml", () => undefined);
  } catch (error) {
    assert.ok(error instanceof RegistryError, String(error));
    return [...error.problems];
  }
  assert.fail(`expected problems in:\n${rules}`);
}

Deno.test("webhooks: the DESIGN example loads, lookups kept and env placeholders rendered", () => {
  const registry = parseRegistry(
    HEAD + `  - on: repository.created
    dispatch:
      repository: acme/github-cop
      workflow: configure.yml
      ref: {{ env.REF }}
      inputs: { repo: "{{ event.repository.name }}" }
  - on: push
    repository_dispatch:
      repository: acme/mirror
      event_type: upstream-push
      client_payload: { ref: "{{ event.ref }}", repo: "{{ event.repository.full_name }}" }
`,
    "r.yaml",
    (name) => name === "REF" ? "main" : undefined,
  );
  assert.deepEqual(registry.webhooks.rules, [
    {
      label: "webhooks[0] repository.created",
      event: "repository",
      action: "created",
      target: {
        kind: "dispatch",
        repository: "acme/github-cop",
        workflow: "configure.yml",
        ref: "main",
        inputs: { repo: "{{ event.repository.name }}" },
      },
    },
    {
      label: "webhooks[1] push",
      event: "push",
      target: {
        kind: "repository_dispatch",
        repository: "acme/mirror",
        eventType: "upstream-push",
        clientPayload: {
          ref: "{{ event.ref }}",
          repo: "{{ event.repository.full_name }}",
        },
      },
    },
  ]);
  assert.equal(registry.webhooks.client.name, "webhooks");
  assert.deepEqual(registry.warnings, []);
});

Deno.test("webhooks: an event GitHub does not send is a warning at its line, the rule loads", () => {
  const registry = parseRegistry(
    HEAD + `  - on: repo.created
    repository_dispatch: { repository: acme/x, event_type: t }
`,
    "r.yaml",
    () => undefined,
  );
  assert.equal(registry.webhooks.rules.length, 1);
  assert.equal(registry.warnings.length, 1);
  assert.match(
    registry.warnings[0],
    /^r\.yaml:6: webhooks\[0\] "on: repo\.created": GitHub sends no "repo" event/,
  );
});

Deno.test("webhooks: malformed rules are errors at their line", () => {
  const cases: [string, number, RegExp][] = [
    ["  - on: push\n", 6, /needs exactly one of "dispatch" or "repository_dispatch"/],
    [
      "  - on: push\n    dispatch: { repository: a/b, workflow: w, ref: main }\n    repository_dispatch: { repository: a/b, event_type: t }\n",
      6,
      /exactly one/,
    ],
    [
      "  - on: push\n    dispatch: { repository: acme, workflow: w, ref: main }\n",
      7,
      /dispatch\.repository must be owner\/name, got "acme"/,
    ],
    [
      "  - on: push\n    dispatch: { repository: acme/.., workflow: w, ref: main }\n",
      7,
      /dispatch\.repository must be owner\/name, got "acme\/\.\."/,
    ],
    [
      "  - on: push\n    repository_dispatch: { repository: acme/., event_type: t }\n",
      7,
      /repository_dispatch\.repository must be owner\/name, got "acme\/\."/,
    ],
    [
      "  - on: push\n    dispatch: { repository: a/b, workflow: .., ref: main }\n",
      7,
      /dispatch\.workflow must be a workflow file name or id, got "\.\."/,
    ],
    [
      "  - on: push\n    dispatch: { repository: a/b, ref: main }\n",
      7,
      /dispatch has no "workflow"/,
    ],
    ["  - on: push\n    dispatch: { repository: a/b, workflow: w }\n", 7, /dispatch has no "ref"/],
    [
      "  - on: push\n    repository_dispatch: { repository: a/b }\n",
      7,
      /repository_dispatch has no "event_type"/,
    ],
    [
      "  - on: Push!\n    repository_dispatch: { repository: a/b, event_type: t }\n",
      6,
      /"on" must be an event name/,
    ],
    [
      "  - dispatch: { repository: a/b, workflow: w, ref: main }\n",
      6,
      /"on" must be an event name/,
    ],
    [
      "  - on: push\n    repository_dispatch: { repository: a/b, event_type: t, extra: 1 }\n",
      7,
      /unknown field "extra" in webhooks\[0\] repository_dispatch/,
    ],
    [
      '  - on: push\n    repository_dispatch: { repository: a/b, event_type: "{{ event }}" }\n',
      7,
      /only \{\{ event\.field\.path \}\} lookups/,
    ],
    [
      "  - on: push\n    repository_dispatch: { repository: a/b, event_type: t, client_payload: [1] }\n",
      7,
      /client_payload must be a mapping/,
    ],
    ["  - on: push\n    dispatch: a/b\n", 7, /"dispatch" must be a mapping/],
    ["  - push\n", 6, /webhooks\[0\] must be a mapping/],
    ["  push\n", 6, /"webhooks" must be a list of rules/],
  ];
  for (const [rules, line, message] of cases) {
    const problems = problemsOf(rules);
    assert.equal(problems.length, 1, `${rules}\n${problems.join("\n")}`);
    assert.ok(problems[0].startsWith(`r.yaml:${line}: `), `${problems[0]} (expected line ${line})`);
    assert.match(problems[0], message);
  }
});

Deno.test("webhooks: no registry client may take the name of the built-in client", () => {
  const problems = (() => {
    try {
      parseRegistry(
        "version: 1\nclients:\n  - name: webhooks\n    token: t\n",
        "r.yaml",
        () => undefined,
      );
    } catch (error) {
      return (error as RegistryError).problems;
    }
    return [];
  })();
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^r\.yaml:3: client name "webhooks" is the gateway's own/);
});

Deno.test("webhooks: a repository filled from the payload is checked when the rule fires", () => {
  const registry = parseRegistry(
    HEAD +
      `  - on: push\n    repository_dispatch: { repository: "{{ event.repository.full_name }}", event_type: t }\n`,
    "r.yaml",
    () => undefined,
  );
  assert.equal(registry.webhooks.rules[0].target.repository, "{{ event.repository.full_name }}");
});
