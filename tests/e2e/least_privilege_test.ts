/**
 * Least privilege (DESIGN §1, issue point 8): the launcher derives Deno's permission flags from
 * the configuration, the server works under exactly those flags, anything else is refused, and
 * a configuration outside a baked allowlist stops start-up.
 */
import assert from "node:assert/strict";
import { BINARY, command, ENTRY_POINT } from "../../scripts/launch.ts";
import { FakeGitHub, generateAppKey } from "../support/fake_github.ts";
import { runDeno, spawnServer } from "../support/process.ts";
import type { Outcome, ProbePlan } from "../support/permission_probe.ts";

/** Credential files a deployment may use (systemd LoadCredential=, Docker secrets). */
const CREDENTIAL_DIRS = ["/run/credentials/github-proxy.service", "/run/secrets"];

const PROBE = new URL("../support/permission_probe.ts", import.meta.url).pathname;

function flag(args: readonly string[], name: string): string[] | undefined {
  const found = args.find((arg) => arg.startsWith(`--allow-${name}=`));
  return found?.slice(`--allow-${name}=`.length).split(",");
}

/** The permission flags of a launcher command line: everything between the mode and the entry. */
function permissionArgs(args: readonly string[]): string[] {
  return args.slice(1, args.indexOf(ENTRY_POINT)).filter((arg) => arg !== "--watch");
}

async function tempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-lp-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const NET_CASES: [string, Record<string, string>, string[]][] = [
  ["defaults", {}, ["api.github.com:443", "uploads.github.com:443", "0.0.0.0:8080"]],
  [
    "GitHub Enterprise Server: uploads on the same host",
    { GITHUB_API_URL: "https://ghe.example.com/api/v3" },
    ["ghe.example.com:443", "0.0.0.0:8080"],
  ],
  [
    "GHE.com tenant: uploads on its uploads host",
    { GITHUB_API_URL: "https://api.acme.ghe.com" },
    ["api.acme.ghe.com:443", "uploads.acme.ghe.com:443", "0.0.0.0:8080"],
  ],
  [
    "uploads root set apart",
    { GITHUB_API_URL: "http://127.0.0.1:9999", GITHUB_UPLOADS_URL: "http://127.0.0.1:9998/up" },
    ["127.0.0.1:9999", "127.0.0.1:9998", "0.0.0.0:8080"],
  ],
  [
    "loopback upstream, listen address",
    { GITHUB_API_URL: "http://127.0.0.1:9999", BIND: "127.0.0.1", PORT: "9000" },
    ["127.0.0.1:9999", "127.0.0.1:9000"],
  ],
  [
    "plain http on the default port, IPv6 listen",
    { GITHUB_API_URL: "http://ghe.internal", BIND: "::1" },
    ["ghe.internal:80", "[::1]:8080"],
  ],
  [
    "Upstash over HTTPS",
    { CACHE_BACKEND_URL: "upstash://eu1-cache.upstash.io" },
    ["api.github.com:443", "uploads.github.com:443", "0.0.0.0:8080", "eu1-cache.upstash.io:443"],
  ],
  [
    "self-hosted Upstash REST",
    { CACHE_BACKEND_URL: "upstash+http://127.0.0.1:8079" },
    ["api.github.com:443", "uploads.github.com:443", "0.0.0.0:8080", "127.0.0.1:8079"],
  ],
  [
    "remote Deno KV",
    { CACHE_BACKEND_URL: "denokv+https://api.deno.com/databases/x/connect" },
    ["api.github.com:443", "uploads.github.com:443", "0.0.0.0:8080", "api.deno.com:443"],
  ],
  [
    "embedded caches need no network",
    { CACHE_BACKEND_URL: "memory://" },
    ["api.github.com:443", "uploads.github.com:443", "0.0.0.0:8080"],
  ],
];

for (const [label, env, net] of NET_CASES) {
  Deno.test(`launcher --allow-net: ${label}`, () => {
    for (const mode of ["start", "dev", "compile"] as const) {
      const cmd = command(mode, { CLIENT_REGISTRY_FILE_PATH: "/srv/registry.yaml", ...env });
      // A try-out listens on loopback only unless BIND says otherwise (see the defaults test).
      const expected = mode === "compile"
        ? net
        : net.map((host) => host === "0.0.0.0:8080" ? "127.0.0.1:8080" : host);
      const tcp = flag(cmd.args, "net")!.filter((host) => !host.startsWith("unix:"));
      assert.deepEqual(tcp, expected, mode);
    }
  });
}

Deno.test("launcher: the listener's unix socket and the state directory it lives in", () => {
  const cmd = command("start", {
    CLIENT_REGISTRY_FILE_PATH: "/srv/registry.yaml",
    STATE_DIRECTORY: "/var/lib/github-proxy",
    CACHE_BACKEND_URL: "memory://",
    PORT: "9000",
  });
  assert.deepEqual(flag(cmd.args, "net")!.filter((host) => host.startsWith("unix:")), [
    "unix:/var/lib/github-proxy/listener-9000.sock",
  ]);
  assert.deepEqual(flag(cmd.args, "read"), [
    "/srv/registry.yaml",
    "/var/lib/github-proxy",
    ...CREDENTIAL_DIRS,
  ]);
  assert.deepEqual(flag(cmd.args, "write"), ["/var/lib/github-proxy"]);
});

Deno.test("launcher read/write: the registry file, the state directory and a Deno KV file's", () => {
  const kv = command("start", {
    CLIENT_REGISTRY_FILE_PATH: "conf/registry.yaml",
    STATE_DIRECTORY: "/var/lib/github-proxy",
  });
  assert.deepEqual(flag(kv.args, "read"), [
    `${Deno.cwd()}/conf/registry.yaml`,
    "/var/lib/github-proxy",
    ...CREDENTIAL_DIRS,
  ]);
  assert.deepEqual(flag(kv.args, "write"), ["/var/lib/github-proxy"]);

  const elsewhere = command("start", {
    CLIENT_REGISTRY_FILE_PATH: "/srv/registry.yaml",
    STATE_DIRECTORY: "/var/lib/github-proxy",
    CACHE_BACKEND_URL: "denokv:///srv/kv/cache.kv",
  });
  assert.deepEqual(flag(elsewhere.args, "write"), ["/var/lib/github-proxy", "/srv/kv"]);

  const memory = command("start", {
    CLIENT_REGISTRY_FILE_PATH: "/srv/registry.yaml",
    STATE_DIRECTORY: "/var/lib/github-proxy",
    CACHE_BACKEND_URL: "memory://",
  });
  assert.deepEqual(flag(memory.args, "read"), [
    "/srv/registry.yaml",
    "/var/lib/github-proxy",
    ...CREDENTIAL_DIRS,
  ]);
  assert.deepEqual(flag(memory.args, "write"), ["/var/lib/github-proxy"]);
  assert.ok(!memory.args.some((arg) => /^--allow-(all|run|ffi|sys)|^-A$/.test(arg)));
});

Deno.test("launcher defaults: the example registry for start, FHS paths for a build", () => {
  const start = command("start", {});
  assert.match(flag(start.args, "read")![0], /\/registry\.example\.yaml$/);
  // The example registry has a full-access token printed in the README: a try-out must not
  // be an open proxy on every interface once a PAT is set.
  for (const mode of ["start", "dev"] as const) {
    const local = command(mode, { GITHUB_PAT_MAIN: "ghp_x" });
    assert.equal(local.env.BIND, "127.0.0.1", mode);
    assert.ok(flag(local.args, "net")!.includes("127.0.0.1:8080"), mode);
    assert.ok(!flag(local.args, "net")!.some((host) => host.startsWith("0.0.0.0")), mode);
    assert.equal(command(mode, { BIND: "0.0.0.0" }).env.BIND, "0.0.0.0", "BIND still wins");
  }
  assert.equal(command("compile", {}).env.BIND, undefined, "a build listens where BIND says");
  const compile = command("compile", {});
  assert.deepEqual(flag(compile.args, "read"), [
    "/etc/github-proxy/registry.yaml",
    "/var/lib/github-proxy",
    ...CREDENTIAL_DIRS,
  ]);
});

Deno.test("every shape reads the environment whole and names no variable; never a value", async () => {
  const key = await generateAppKey();
  await tempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/registry.yaml`,
      "version: 1\nclients:\n  - name: ci\n    token: {{ env.TOKEN_CI }}\n",
    );
    await Deno.mkdir(`${dir}/secrets`);
    const env = {
      CLIENT_REGISTRY_FILE_PATH: `${dir}/registry.yaml`,
      GITHUB_PAT_ALPHA: "ghp_alpha_secret",
      GITHUB_APP_BOT_ID: "1",
      GITHUB_APP_BOT_PEM: key.privateKeyPem,
      TOKEN_CI: "ci-secret",
      GITHUB_CREDENTIALS_DIR: `${dir}/secrets`,
    };
    for (const mode of ["start", "compile", "dev"] as const) {
      const cmd = command(mode, env);
      assert.ok(cmd.args.includes("--allow-env"), mode);
      assert.ok(!cmd.args.some((arg) => arg.startsWith("--allow-env=")), mode);
      assert.equal(cmd.args.at(-1), ENTRY_POINT, mode);
      assert.ok(flag(cmd.args, "read")!.includes(`${dir}/secrets`), `${mode}: credential files`);
      const line = cmd.args.join(" ");
      for (const secret of ["ghp_alpha_secret", "ci-secret", "PRIVATE KEY", "GITHUB_PAT_ALPHA"]) {
        assert.ok(!line.includes(secret), `${mode}: ${secret}`);
      }
    }
  });
});

Deno.test("compile bakes the same flags and entry point as start", () => {
  const env = {
    GITHUB_API_URL: "https://ghe.example.com/api/v3",
    CLIENT_REGISTRY_FILE_PATH: "/etc/github-proxy/registry.yaml",
    STATE_DIRECTORY: "/var/lib/github-proxy",
    BIND: "0.0.0.0",
    GITHUB_PAT_ONE: "ghp_x",
  };
  const start = command("start", env);
  const compile = command("compile", env);
  assert.deepEqual(compile.args.slice(0, 1), ["compile"]);
  const output = compile.args.indexOf("--output");
  assert.equal(compile.args[output + 1], BINARY);
  assert.deepEqual(
    [...compile.args.slice(1, output), ...compile.args.slice(output + 2)],
    start.args.slice(1),
  );
});

interface Upstream {
  fake: FakeGitHub;
  env: Record<string, string>;
  registryPath: string;
  pemOf: string;
}

/** A fake GitHub with a PAT and an App, and the server's environment for it in `dir`. */
async function serverEnv(dir: string): Promise<Upstream & AsyncDisposable> {
  const key = await generateAppKey();
  const fake = await FakeGitHub.start({
    pats: { ghp_pool_secret: {} },
    apps: [{ id: "11", installationId: "22", publicKeyPem: key.publicKeyPem }],
  });
  const registryPath = `${dir}/registry.yaml`;
  await Deno.writeTextFile(
    registryPath,
    "version: 1\nclients:\n  - name: ci\n    token: {{ env.TOKEN_CI }}\n",
  );
  const env = {
    GITHUB_API_URL: fake.url,
    CLIENT_REGISTRY_FILE_PATH: registryPath,
    STATE_DIRECTORY: `${dir}/state`,
    BIND: "127.0.0.1",
    PORT: "0",
    GITHUB_PAT_ONE: "ghp_pool_secret",
    GITHUB_APP_BOT_ID: "11",
    GITHUB_APP_BOT_INSTALLATION_ID: "22",
    GITHUB_APP_BOT_PEM: key.privateKeyPem,
    TOKEN_CI: "ci-client-token",
    LOG_LEVEL: "debug",
  };
  await Deno.mkdir(env.STATE_DIRECTORY);
  return {
    fake,
    env,
    registryPath,
    pemOf: key.privateKeyPem,
    [Symbol.asyncDispose]: () => fake.close(),
  };
}

async function exercise(url: string, u: Upstream, server: { waitForLog(p: RegExp): unknown }) {
  const zen = await fetch(`${url}/zen`, { headers: { authorization: "token ci-client-token" } });
  assert.equal(zen.status, 200);
  assert.equal(await zen.text(), "Keep it logically awesome.");
  assert.equal(u.fake.requests.at(-1)?.credential, "ghp_pool_secret");

  // The Deno KV cache in the state directory, metrics and usage work under the same flags.
  const auth = { headers: { authorization: "token ci-client-token" } };
  for (const expected of [/fwd=uri-miss; stored/, /fwd-status=304/]) {
    const repo = await fetch(`${url}/repos/acme/app`, auth);
    assert.equal(repo.status, 200);
    assert.match(repo.headers.get("cache-status") ?? "", expected);
    await repo.body?.cancel();
  }
  const metrics = await fetch(`${url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /github_proxy_client_requests_total\{client="ci"/);
  const usage = await fetch(`${url}/usage`, auth);
  assert.equal(usage.status, 200);
  assert.equal((await usage.json()).clients[0].client, "ci");

  await Deno.writeTextFile(
    u.registryPath,
    "version: 1\nclients:\n  - name: ci\n    token: {{ env.TOKEN_CI }}\n  - name: new\n    token: added\n",
  );
  await server.waitForLog(/client registry reloaded/);
  const added = await fetch(`${url}/zen`, { headers: { authorization: "token added" } });
  assert.equal(added.status, 200);
  await added.body?.cancel();
}

function assertCleanLogs(logs: readonly string[], secrets: readonly string[]): void {
  for (const line of logs) {
    assert.ok(!/NotCapable|Requires \w+ access/.test(line), line);
    assert.ok(!/"level":"error"/.test(line), line);
    for (const secret of secrets) assert.ok(!line.includes(secret), "secret in logs");
  }
}

Deno.test("the server works under exactly the launcher's flags: PAT, App, template, reload", async () => {
  await tempDir(async (dir) => {
    await using u = await serverEnv(dir);
    const cmd = command("start", u.env);
    assert.equal(cmd.args.at(-1), ENTRY_POINT);
    const server = await spawnServer(cmd.args, { ...cmd.env });
    try {
      await exercise(server.url, u, server);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    assertCleanLogs(server.logs, ["ghp_pool_secret", "ci-client-token", "PRIVATE KEY"]);
  });
});

Deno.test("the compiled command line (deno run with compile's flags) serves and reloads", async () => {
  await tempDir(async (dir) => {
    await using u = await serverEnv(dir);
    const compile = command("compile", u.env);
    const output = compile.args.indexOf("--output");
    const args = ["run", ...compile.args.slice(1, output), ...compile.args.slice(output + 2)];
    const server = await spawnServer(args, u.env);
    try {
      await exercise(server.url, u, server);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    assertCleanLogs(server.logs, ["ghp_pool_secret", "ci-client-token", "PRIVATE KEY"]);
  });
});

Deno.test("under the launcher's flags every other host, file, variable and program is refused", async () => {
  await tempDir(async (dir) => {
    await using u = await serverEnv(dir);
    const other = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("should never be reached"),
    );
    try {
      const cmd = command("start", u.env);
      const plan: ProbePlan = {
        fetch: [
          `${u.fake.url}/zen`,
          `http://127.0.0.1:${other.addr.port}/`,
          `http://127.0.0.2:${new URL(u.fake.url).port}/zen`,
          `http://localhost:${new URL(u.fake.url).port}/zen`,
        ],
        read: [u.registryPath, u.env.STATE_DIRECTORY, "/etc/passwd", `${dir}`],
        write: [`${u.env.STATE_DIRECTORY}/probe`, `${dir}/probe`, "/tmp/github-proxy-probe"],
        env: ["GITHUB_PAT_ONE", "TOKEN_CI", "HOME", "PATH"],
        listen: [`127.0.0.1:0`, `127.0.0.1:${other.addr.port + 1}`],
        run: ["true"],
      };
      const result = await runDeno(
        ["run", ...permissionArgs(cmd.args), PROBE, JSON.stringify(plan)],
        cmd.env,
      );
      assert.equal(result.code, 0, result.stderr);
      const outcomes: Record<string, Outcome> = JSON.parse(result.stdout);
      const allowed = (key: string) => assert.equal(outcomes[key], "allowed", key);
      const denied = (key: string) => assert.equal(outcomes[key], "denied", key);
      allowed("library yaml");
      allowed("library graphql");
      allowed("library @upstash/redis");
      allowed(`fetch ${plan.fetch![0]}`);
      for (const url of plan.fetch!.slice(1)) denied(`fetch ${url}`);
      allowed(`read ${u.registryPath}`);
      allowed(`read ${u.env.STATE_DIRECTORY}`);
      denied("read /etc/passwd");
      denied(`read ${dir}`);
      allowed(`write ${u.env.STATE_DIRECTORY}/probe`);
      denied(`write ${dir}/probe`);
      denied("write /tmp/github-proxy-probe");
      // The environment is read whole (DESIGN §4): credentials are discovered at run time.
      allowed("env GITHUB_PAT_ONE");
      allowed("env TOKEN_CI");
      allowed("env HOME");
      allowed("listen 127.0.0.1:0");
      denied(`listen 127.0.0.1:${other.addr.port + 1}`);
      denied("run true");
    } finally {
      await other.shutdown();
    }
  });
});

Deno.test("a configuration outside the baked allowlist is refused, naming variables and rebuild", async () => {
  await tempDir(async (dir) => {
    await using u = await serverEnv(dir);
    const compile = command("compile", u.env);
    const output = compile.args.indexOf("--output");
    const args = ["run", ...compile.args.slice(1, output), ...compile.args.slice(output + 2)];
    await Deno.writeTextFile(`${dir}/other.yaml`, "version: 1\nclients: []\n");
    const result = await runDeno(args, {
      ...u.env,
      GITHUB_API_URL: "https://ghe.example.com/api/v3",
      GITHUB_UPLOADS_URL: "https://uploads.example.com",
      CACHE_BACKEND_URL: "upstash://cache.example.com",
      CLIENT_REGISTRY_FILE_PATH: `${dir}/other.yaml`,
      PORT: "8081",
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /configuration outside this build's permissions/);
    for (
      const [variable, shown] of [
        ["GITHUB_API_URL", "ghe.example.com:443"],
        ["GITHUB_UPLOADS_URL", "uploads.example.com:443"],
        ["CACHE_BACKEND_URL", "cache.example.com:443"],
        ["BIND/PORT", "127.0.0.1:8081"],
        ["CLIENT_REGISTRY_FILE_PATH", `${dir}/other.yaml`],
      ]
    ) {
      const line = result.stderr.split("\n").find((l) => l.includes(`- ${variable}`));
      assert.ok(line, `${variable} is named`);
      assert.ok(line.includes(shown), line);
      assert.match(line, /deno task compile/);
      assert.match(line, /--build-arg/);
    }
    assert.equal(u.fake.requests.length, 0);
  });
});

Deno.test("a binary-shaped start (compile's exact flags) uses a credential variable set only at run time", async () => {
  await tempDir(async (dir) => {
    await using u = await serverEnv(dir);
    // Built with no credential at all; the PAT's variable is set only when the binary starts.
    const buildEnv = Object.fromEntries(
      Object.entries(u.env).filter(([name]) =>
        !name.startsWith("GITHUB_PAT_") && !name.startsWith("GITHUB_APP_")
      ),
    );
    const compile = command("compile", buildEnv);
    assert.ok(!compile.args.join(" ").includes("GITHUB_PAT"), "no credential name baked");
    const output = compile.args.indexOf("--output");
    const args = ["run", ...compile.args.slice(1, output), ...compile.args.slice(output + 2)];
    const server = await spawnServer(args, { ...buildEnv, GITHUB_PAT_LATE: "ghp_pool_secret" });
    try {
      const zen = await fetch(`${server.url}/zen`, {
        headers: { authorization: "token ci-client-token" },
      });
      assert.equal(zen.status, 200);
      await zen.body?.cancel();
      assert.equal(u.fake.requests.at(-1)?.credential, "ghp_pool_secret");
      assert.ok(!server.logs.some((l) => l.includes("no GitHub credential configured")));
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
