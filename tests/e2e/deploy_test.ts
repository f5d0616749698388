/**
 * The Dockerfile and the systemd unit cannot be run here (no container engine, no systemd), so
 * these tests hold them to what the launcher and the gateway expect.
 */
import assert from "node:assert/strict";
import { command } from "../../scripts/launch.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../../${path}`, import.meta.url));

/** Build-time defaults of the compiled binary, which the unit and the image must agree with. */
function compileDefaults(): { registry: string; state: string } {
  const args = command("compile", {}).args;
  const [registry, state] = args.find((a) => a.startsWith("--allow-read="))!
    .slice("--allow-read=".length).split(",");
  return { registry, state };
}

Deno.test("Dockerfile: builder compiles with the allowlist variables as ARGs; runtime is non-root", async () => {
  const dockerfile = await read("Dockerfile");
  const [builder, runtime] = dockerfile.split(/^FROM /m).slice(1);
  assert.ok(builder && runtime, "two stages");
  assert.match(builder, /AS builder/);
  assert.match(builder, /npm install -g "deno@\$\(cat \.deno-version\)"/);
  for (
    const variable of [
      "GITHUB_API_URL",
      "CACHE_BACKEND_URL",
      "BIND",
      "PORT",
      "CLIENT_REGISTRY_FILE_PATH",
      "STATE_DIRECTORY",
    ]
  ) {
    assert.match(builder, new RegExp(`^ARG ${variable}=`, "m"), variable);
  }
  // Credentials are found when the container starts (DESIGN §4): no build names them.
  assert.doesNotMatch(dockerfile, /CREDENTIAL_VARIABLES/);
  assert.match(builder, /deno task compile/);
  const { registry, state } = compileDefaults();
  assert.match(builder, new RegExp(`^ARG CLIENT_REGISTRY_FILE_PATH=${registry}$`, "m"));
  assert.match(builder, new RegExp(`^ARG STATE_DIRECTORY=${state}$`, "m"));
  assert.match(runtime, /COPY --from=builder \/src\/github-proxy /);
  const user = /^USER (\S+)$/m.exec(runtime)?.[1];
  assert.ok(user && !/^(0|root)(:|$)/.test(user), `non-root USER, got ${user}`);
  assert.match(runtime, /^ENTRYPOINT \["\/usr\/local\/bin\/github-proxy"\]$/m);
});

Deno.test("systemd unit: dynamic user, state directory, hardening, env file, reload by SIGHUP", async () => {
  const unit = await read("deploy/github-proxy.service");
  const directives = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) directives.set(match[1], [...directives.get(match[1]) ?? [], match[2]]);
  }
  const value = (name: string) => directives.get(name)?.join(" ");
  const expected: [string, RegExp][] = [
    ["ExecStart", /^\/usr\/local\/bin\/github-proxy$/],
    ["ExecReload", /^\/bin\/kill -HUP \$MAINPID$/],
    ["EnvironmentFile", /^\/etc\/github-proxy\/github-proxy\.env$/],
    // The PAT and the App key as files in $CREDENTIALS_DIRECTORY, named like their variables.
    ["LoadCredential", /^GITHUB_PAT_MAIN:\S+ GITHUB_APP_BOT_PEM:\S+$/],
    ["DynamicUser", /^yes$/],
    ["StateDirectory", /^github-proxy$/],
    ["NoNewPrivileges", /^yes$/],
    ["ProtectSystem", /^strict$/],
    ["ProtectHome", /^yes$/],
    ["PrivateTmp", /^yes$/],
    ["PrivateDevices", /^yes$/],
    ["RestrictAddressFamilies", /^AF_INET AF_INET6 AF_UNIX$/],
    ["CapabilityBoundingSet", /^$/],
    ["SystemCallFilter", /^@system-service/],
    ["KillSignal", /^SIGTERM$/],
  ];
  for (const [name, pattern] of expected) assert.match(value(name) ?? "<absent>", pattern, name);
  assert.equal(directives.has("MemoryDenyWriteExecute"), false, "V8's JIT needs W+X memory");
  const { registry, state } = compileDefaults();
  assert.equal(state, "/var/lib/github-proxy", "StateDirectory=github-proxy");
  assert.ok(value("Environment")?.includes(`CLIENT_REGISTRY_FILE_PATH=${registry}`));
});

Deno.test("systemd unit and docs install the registry 0640 root:github-proxy, read through the group", async () => {
  const unit = await read("deploy/github-proxy.service");
  assert.match(unit, /^SupplementaryGroups=github-proxy$/m);
  const install = /install -m 0640 -o root -g github-proxy registry\.yaml \/etc\/github-proxy\//;
  for (const [name, text] of [["unit", unit], ["docs", await read("docs/deployment.md")]]) {
    assert.match(text, install, name);
    assert.match(text, /groupadd --system github-proxy/, name);
    assert.doesNotMatch(text, /install -m 0644 registry\.yaml/, name);
  }
});

Deno.test("a refused PAT is out of the pool until a reload or restart, as every text says", async () => {
  const texts = [
    "src/telemetry/prometheus.ts",
    "src/endpoints/status/data.ts",
    "docs/operations.md",
  ];
  for (const path of [...texts, "deploy/prometheus-alerts.yml"]) {
    const text = (await read(path)).replace(/\s+/g, " ");
    assert.doesNotMatch(text, /until (?:the gateway )?restarts?\b/, path);
    assert.match(text, /until a reload \(`?SIGHUP`?\) or restart/, path);
  }
  // systemd copies LoadCredential= files at start: a reload cannot see a changed one.
  const unit = await read("deploy/github-proxy.service");
  const reload = unit.split("\n").find((line) => line.includes("systemctl reload"))!;
  assert.doesNotMatch(reload, /credentials/);
  assert.match(unit, /systemctl reload github-proxy .*tries refused PATs again/);
  assert.match(unit, /changed\n#\s+# credential file needs `systemctl restart`/);
});
