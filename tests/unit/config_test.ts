/** Configuration (DESIGN §4) as tables: defaults, parsing, and every problem reported at once. */
import assert from "node:assert/strict";
import {
  type Config,
  ConfigError,
  graphqlUrlFor,
  parseConfig,
  uploadsUrlFor,
} from "../../src/config.ts";

const REQUIRED = { CLIENT_REGISTRY_FILE_PATH: "/etc/github-proxy/registry.yaml" };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

Deno.test("defaults", () => {
  const config = parseConfig(REQUIRED);
  const expected: Config = {
    githubApiUrl: "https://api.github.com",
    githubGraphqlUrl: "https://api.github.com/graphql",
    githubUploadsUrl: "https://uploads.github.com",
    registryPath: "/etc/github-proxy/registry.yaml",
    stateDirectory: ".state",
    cacheBackendUrl: "denokv://",
    cacheTtlSeconds: 3600,
    upstashToken: undefined,
    denoKvAccessToken: undefined,
    credentials: [],
    credentialVariables: {},
    systemdCredentialsDirectory: "",
    credentialsDirectory: "",
    credsCacheMaxSize: 256,
    credsTtlPaddingSeconds: 60,
    telemetry: "prometheus",
    metricsToken: undefined,
    port: 8080,
    bind: "0.0.0.0",
    logLevel: "info",
    logFormat: "json",
    upstreamTimeoutMs: 30_000,
    upstreamConcurrency: 25,
    drainTimeoutMs: 25_000,
    headerTimeoutMs: 30_000,
    bodyTimeoutMs: 60_000,
    idleTimeoutMs: 5_000,
    maxConnections: 240,
    rateLimitStatus: 403,
    publicUrl: undefined,
    trustProxyHeaders: false,
    rewriteBodyUrls: true,
    webhookSecrets: [],
  };
  assert.deepEqual(config, expected);
  assert.ok(Object.isFrozen(config));
});

Deno.test("values are parsed into typed fields", () => {
  const config = parseConfig({
    ...REQUIRED,
    GITHUB_API_URL: "https://GHE.example.com/api/v3/",
    STATE_DIRECTORY: "/var/lib/github-proxy:/var/lib/other",
    CACHE_BACKEND_URL: "upstash://eu1.upstash.io",
    UPSTASH_REDIS_REST_TOKEN: "tok",
    CACHE_TTL: "60",
    GITHUB_CREDS_CACHE_MAXSIZE: "10",
    GITHUB_CREDS_CACHE_TTL_PADDING: "10",
    TELEMETRY_COLLECTOR_TYPE: "Logging",
    METRICS_TOKEN: "m",
    PORT: "9000",
    BIND: "127.0.0.1",
    LOG_LEVEL: "DEBUG",
    LOG_FORMAT: "pretty",
    UPSTREAM_TIMEOUT: "5",
    DRAIN_TIMEOUT: "0",
    HEADER_TIMEOUT: "2",
    BODY_TIMEOUT: "3",
    IDLE_TIMEOUT: "4",
    MAX_CONNECTIONS: "100",
    RATE_LIMIT_STATUS: " 429 ",
    UPSTREAM_CONCURRENCY: "8",
    PUBLIC_URL: "https://Proxy.example.com/gh/",
    TRUST_PROXY_HEADERS: "TRUE",
    REWRITE_BODY_URLS: "false",
    GITHUB_WEBHOOK_SECRET: " old-secret , new-secret,,",
  });
  assert.deepEqual(config.webhookSecrets, ["old-secret", "new-secret"]);
  assert.equal(config.upstreamConcurrency, 8);
  assert.equal(config.githubApiUrl, "https://ghe.example.com/api/v3");
  assert.equal(config.githubGraphqlUrl, "https://ghe.example.com/api/graphql");
  assert.equal(config.githubUploadsUrl, "https://ghe.example.com/api/uploads");
  assert.equal(config.stateDirectory, "/var/lib/github-proxy");
  assert.equal(config.cacheBackendUrl, "upstash://eu1.upstash.io");
  assert.equal(config.upstashToken, "tok");
  assert.equal(config.cacheTtlSeconds, 60);
  assert.equal(config.credsCacheMaxSize, 10);
  assert.equal(config.credsTtlPaddingSeconds, 600);
  assert.equal(config.telemetry, "logging");
  assert.equal(config.metricsToken, "m");
  assert.equal(config.port, 9000);
  assert.equal(config.bind, "127.0.0.1");
  assert.equal(config.logLevel, "debug");
  assert.equal(config.logFormat, "pretty");
  assert.equal(config.upstreamTimeoutMs, 5000);
  assert.equal(config.drainTimeoutMs, 0);
  assert.equal(config.headerTimeoutMs, 2000);
  assert.equal(config.bodyTimeoutMs, 3000);
  assert.equal(config.idleTimeoutMs, 4000);
  assert.equal(config.maxConnections, 100);
  assert.equal(config.rateLimitStatus, 429);
  assert.equal(config.publicUrl, "https://proxy.example.com/gh");
  assert.equal(config.trustProxyHeaders, true);
  assert.equal(config.rewriteBodyUrls, false);
  assert.equal(config.githubUploadsUrl, "https://ghe.example.com/api/uploads");
});

Deno.test("GraphQL endpoint that belongs to GITHUB_API_URL", () => {
  const cases: [string, string][] = [
    ["https://api.github.com", "https://api.github.com/graphql"],
    ["https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080/graphql"],
    ["http://127.0.0.1:8080/api/v3", "http://127.0.0.1:8080/api/graphql"],
    ["https://proxy.example.com/github", "https://proxy.example.com/github/graphql"],
  ];
  for (const [api, graphql] of cases) assert.equal(graphqlUrlFor(api), graphql, api);
});

Deno.test("uploads root that belongs to GITHUB_API_URL", () => {
  const cases: [string, string][] = [
    ["https://api.github.com", "https://uploads.github.com"],
    ["https://API.GitHub.com", "https://uploads.github.com"],
    ["https://api.acme.ghe.com", "https://uploads.acme.ghe.com"],
    ["https://ghe.example.com/api/v3", "https://ghe.example.com/api/uploads"],
    ["http://ghe.internal:8443/api/v3", "http://ghe.internal:8443/api/uploads"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080/api/uploads"],
    ["https://proxy.example.com/github", "https://proxy.example.com/github/api/uploads"],
    ["https://api.github.com.evil.example", "https://api.github.com.evil.example/api/uploads"],
  ];
  for (const [api, uploads] of cases) assert.equal(uploadsUrlFor(api), uploads, api);
});

Deno.test("GITHUB_UPLOADS_URL overrides the derived uploads root and is checked like a URL", () => {
  const config = parseConfig({ ...REQUIRED, GITHUB_UPLOADS_URL: "http://127.0.0.1:9/up/" });
  assert.equal(config.githubUploadsUrl, "http://127.0.0.1:9/up");
  assert.throws(
    () => parseConfig({ ...REQUIRED, GITHUB_UPLOADS_URL: "ftp://uploads.example.com" }),
    /GITHUB_UPLOADS_URL must be http\(s\)/,
  );
});

const PROBLEM_CASES: [string, Record<string, string>, RegExp][] = [
  ["registry missing", {}, /^CLIENT_REGISTRY_FILE_PATH is required$/],
  ["API URL not a URL", { GITHUB_API_URL: "ghe" }, /^GITHUB_API_URL is not a URL/],
  ["API URL scheme", { GITHUB_API_URL: "ftp://ghe" }, /^GITHUB_API_URL must be http\(s\)/],
  [
    "API URL with credentials",
    { GITHUB_API_URL: "https://user:pass@ghe" },
    /^GITHUB_API_URL must not carry credentials/,
  ],
  ["API URL with a query", { GITHUB_API_URL: "https://ghe/?x=1" }, /^GITHUB_API_URL must not/],
  ["cache URL", { CACHE_BACKEND_URL: "redis" }, /^CACHE_BACKEND_URL must be a URL/],
  ["TTL negative", { CACHE_TTL: "-1" }, /^CACHE_TTL must be a whole number/],
  ["TTL fraction", { CACHE_TTL: "1.5" }, /^CACHE_TTL must be a whole number/],
  ["port range", { PORT: "65536" }, /^PORT must be a whole number from 0 to 65535/],
  ["port text", { PORT: "http" }, /^PORT must be a whole number/],
  ["max size zero", { GITHUB_CREDS_CACHE_MAXSIZE: "0" }, /^GITHUB_CREDS_CACHE_MAXSIZE must/],
  ["padding", { GITHUB_CREDS_CACHE_TTL_PADDING: "x" }, /^GITHUB_CREDS_CACHE_TTL_PADDING must/],
  ["telemetry", { TELEMETRY_COLLECTOR_TYPE: "statsd" }, /^TELEMETRY_COLLECTOR_TYPE must be one/],
  ["log level", { LOG_LEVEL: "trace" }, /^LOG_LEVEL must be one of debug, info, warn, error/],
  ["log format", { LOG_FORMAT: "xml" }, /^LOG_FORMAT must be one of json, pretty/],
  ["upstream timeout", { UPSTREAM_TIMEOUT: "0" }, /^UPSTREAM_TIMEOUT must be a whole number/],
  ["header timeout", { HEADER_TIMEOUT: "0" }, /^HEADER_TIMEOUT must be a whole number from 1/],
  ["body timeout", { BODY_TIMEOUT: "x" }, /^BODY_TIMEOUT must be a whole number/],
  ["idle timeout", { IDLE_TIMEOUT: "0" }, /^IDLE_TIMEOUT must be a whole number from 1/],
  ["connection cap", { MAX_CONNECTIONS: "0" }, /^MAX_CONNECTIONS must be a whole number/],
  [
    "upstream concurrency",
    { UPSTREAM_CONCURRENCY: "0" },
    /^UPSTREAM_CONCURRENCY must be a whole number from 1 to 1000/,
  ],
  ["drain timeout", { DRAIN_TIMEOUT: "-5" }, /^DRAIN_TIMEOUT must be a whole number/],
  ["rate-limit status", { RATE_LIMIT_STATUS: "503" }, /^RATE_LIMIT_STATUS must be 403 or 429/],
  ["public URL not a URL", { PUBLIC_URL: "gw.example" }, /^PUBLIC_URL is not a URL/],
  ["public URL scheme", { PUBLIC_URL: "ftp://gw.example" }, /^PUBLIC_URL must be http\(s\)/],
  ["public URL query", { PUBLIC_URL: "https://gw.example/?a=1" }, /^PUBLIC_URL must not carry/],
  [
    "public URL credentials",
    { PUBLIC_URL: "https://u:p@gw.example" },
    /^PUBLIC_URL must not carry credentials/,
  ],
  ["trust flag", { TRUST_PROXY_HEADERS: "yes" }, /^TRUST_PROXY_HEADERS must be one of true, false/],
  ["rewrite flag", { REWRITE_BODY_URLS: "0" }, /^REWRITE_BODY_URLS must be one of true, false/],
  ["empty PAT", { GITHUB_PAT_X: "  " }, /^GITHUB_PAT_X is empty$/],
  [
    "incomplete App",
    { GITHUB_APP_BOT_ID: "1" },
    // Without an installation id the installations are discovered: only the key is missing.
    /^GitHub App BOT is incomplete: set GITHUB_APP_BOT_PEM$/,
  ],
  [
    "App ids",
    { GITHUB_APP_BOT_ID: "one", GITHUB_APP_BOT_INSTALLATION_ID: "2", GITHUB_APP_BOT_PEM: "x" },
    /^GITHUB_APP_BOT_ID must be numeric$/,
  ],
  [
    "App key",
    { GITHUB_APP_BOT_ID: "1", GITHUB_APP_BOT_INSTALLATION_ID: "2", GITHUB_APP_BOT_PEM: "x" },
    /^GITHUB_APP_BOT_PEM is not a PEM private key/,
  ],
];

for (const [label, env, expected] of PROBLEM_CASES) {
  Deno.test(`problem: ${label}`, () => {
    const problems = problemsOf(
      label === "registry missing" ? env : { ...REQUIRED, ...env },
    );
    assert.ok(problems.some((p) => expected.test(p)), `${problems.join("\n")}`);
  });
}

Deno.test("a malformed GITHUB_API_URL is named, its value (maybe with a secret) is not", () => {
  const problems = problemsOf({ ...REQUIRED, GITHUB_API_URL: "https://bot:ghp_secret@ghe:port" });
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^GITHUB_API_URL is not a URL/);
  assert.ok(!problems[0].includes("ghp_secret"));
});

Deno.test("every problem is reported together, and no secret is repeated", () => {
  const secrets = {
    GITHUB_PAT_OK: "ghp_value_secret",
    GITHUB_APP_BOT_PEM: "-----BEGIN RSA PRIVATE KEY-----\nsecret-material\n",
    UPSTASH_REDIS_REST_TOKEN: "upstash_value_secret",
    METRICS_TOKEN: "metrics_value_secret",
    DENO_KV_ACCESS_TOKEN: "kv_value_secret",
    GITHUB_WEBHOOK_SECRET: "webhook_value_secret",
  };
  const env = Object.fromEntries(PROBLEM_CASES.flatMap(([, env]) => Object.entries(env)));
  let error: unknown;
  try {
    parseConfig({
      ...env,
      ...secrets,
      GITHUB_APP_BOT_ID: "1",
      GITHUB_APP_BOT_INSTALLATION_ID: "2",
    });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError);
  assert.equal(error.problems.length, 23, error.message);
  assert.match(error.message, /^invalid configuration:\n {2}- /);
  for (const secret of [...Object.values(secrets), "secret-material"]) {
    assert.ok(!error.message.includes(secret), secret);
  }
});
