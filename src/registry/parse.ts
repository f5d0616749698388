/**
 * Reads a registry file (YAML) into a `Registry`: the Python github-proxy's format plus
 * `token_sha256`, `deny`, `graphql`, `cache`, the fair-share fields (`priority`, `limits`,
 * `defaults`, `reserve`), `github_token` and `webhooks`; every problem is reported with its line number.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Scalar,
  type YAMLMap,
} from "yaml";
import { renderTemplate } from "./template.ts";
import { compileScopePattern, type ScopePattern } from "./pattern.ts";
import { fromHex, sha256, toHex } from "../digest.ts";
import type { Client, GraphqlAllowance, Registry, ScopeRule } from "./model.ts";
import { parseWebhookRules } from "./webhook_rules.ts";
import {
  type At,
  parseDefaults,
  parseLimits,
  parsePriority,
  parseReserve,
  withDefaults,
} from "./fair_share.ts";
import { parseGithubToken } from "./github_token.ts";

/** A registry file refused, with every problem found, each prefixed `file:line:`. */
export class RegistryError extends Error {
  /**
   * `file`: the registry file refused; `problems`: every problem found, each `file:line: …`.
   */
  constructor(readonly file: string, readonly problems: readonly string[]) {
    super(`invalid client registry ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "RegistryError";
  }
}

/** The built-in client webhook dispatches are made as (DESIGN §12); no registry client has it. */
export const WEBHOOKS_CLIENT = "webhooks";

const CLIENT_FIELDS = new Set([
  "name",
  "token",
  "token_sha256",
  "scopes",
  "deny",
  "cache",
  "priority",
  "limits",
  "github_token",
]);
const TOP_FIELDS = new Set(["version", "clients", "defaults", "reserve", "webhooks"]);
const RULE_FIELDS = new Set(["method", "path", "graphql"]);
const GRAPHQL_VALUES = new Set(["query", "mutation", "any"]);

/** Parses registry text; `file` names the source in error messages. Throws `RegistryError`. */
export function parseRegistry(
  source: string,
  file: string,
  env: (name: string) => string | undefined,
): Registry {
  const rendered = renderTemplate(source, env);
  const problems = rendered.problems.map((p) => `${file}:${p.line}: ${p.message}`);
  const lineCounter = new LineCounter();
  const doc = parseDocument(rendered.text, { lineCounter, uniqueKeys: true });
  const at: At = (node) => {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return `${file}:${range ? lineCounter.linePos(range[0]).line : 1}`;
  };
  const field = fieldReader(doc);
  const text = textReader(rendered.text, at, problems);
  for (const error of doc.errors) {
    problems.push(`${file}:${error.linePos?.[0].line ?? 1}: ${error.message.split("\n")[0]}`);
  }
  if (doc.errors.length > 0) throw new RegistryError(file, problems);

  const root = doc.contents;
  if (!isMap(root)) {
    throw new RegistryError(file, [
      ...problems,
      `${at(root)}: expected a mapping with "version" and "clients"`,
    ]);
  }
  for (const pair of root.items) {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (!TOP_FIELDS.has(key)) {
      problems.push(`${at(pair.key)}: unknown field "${key}"`);
    }
  }
  const versionNode = root.get("version", true);
  if (versionNode !== undefined && !(isScalar(versionNode) && Number(versionNode.value) === 1)) {
    problems.push(`${at(versionNode)}: unsupported version; expected 1`);
  }
  const clientsNode = root.get("clients", true);
  if (!isSeq(clientsNode)) {
    problems.push(`${at(clientsNode ?? root)}: "clients" must be a list`);
    throw new RegistryError(file, problems);
  }

  const defaults = parseDefaults(field(root, "defaults"), field, at, problems);
  const reserve = parseReserve(field(root, "reserve"), field, at, problems);
  const clients: Client[] = [];
  const names = new Map<string, string>();
  const digests = new Map<string, string>();
  for (const entry of clientsNode.items) {
    const item = field.resolve(entry);
    if (!isMap(item)) {
      problems.push(`${at(item)}: a client must be a mapping`);
      continue;
    }
    const where = at(item);
    for (const pair of item.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (!CLIENT_FIELDS.has(key)) {
        problems.push(`${at(pair.key)}: unknown field "${key}"`);
      }
    }
    const name = text(field(item, "name"), `client "name"`);
    if (!name) {
      problems.push(`${where}: client has no "name"`);
      continue;
    }
    if (name === WEBHOOKS_CLIENT) {
      problems.push(`${where}: client name "${name}" is the gateway's own, for webhook dispatches`);
    }
    if (names.has(name)) {
      problems.push(`${where}: duplicate client name "${name}" (first at ${names.get(name)})`);
    }
    names.set(name, where);

    const tokenDigest = clientDigest(item, field, text, name, where, problems);
    if (tokenDigest) {
      const hex = toHex(tokenDigest);
      const first = digests.get(hex);
      if (first) problems.push(`${where}: client "${name}" has the same token as ${first}`);
      else digests.set(hex, `client at ${where}`);
    }
    // `scopes:` with nothing under it (every rule commented out) must not mean full access.
    const scopesNode = field(item, "scopes");
    const scopes = scopesNode === undefined
      ? null
      : parseRules(scopesNode, `client "${name}" scopes`, field, text, at, problems);
    const denyNode = field(item, "deny");
    const deny = denyNode === undefined
      ? []
      : parseRules(denyNode, `client "${name}" deny`, field, text, at, problems);
    const maxAgeSeconds = parseCache(field(item, "cache"), name, field, at, problems);
    const priority = parsePriority(field(item, "priority"), name, at, problems);
    const own = parseLimits(field(item, "limits"), `client "${name}" limits`, field, at, problems);
    const limits = withDefaults(own, defaults);
    const githubTokenNode = field(item, "github_token");
    const githubToken = parseGithubToken(githubTokenNode, name, field, at, problems);
    if (tokenDigest) {
      clients.push({
        name,
        tokenDigest,
        scopes,
        deny,
        maxAgeSeconds,
        priority,
        limits,
        ...(githubToken ? { githubToken, githubTokenAt: at(keyNode(item, "github_token")) } : {}),
      });
    }
  }
  const warnings: string[] = [];
  const rules = parseWebhookRules(
    field(root, "webhooks"),
    field,
    field.resolve,
    at,
    problems,
    warnings,
  );
  if (problems.length > 0) throw new RegistryError(file, problems);
  const webhooksClient: Client = {
    name: WEBHOOKS_CLIENT,
    // Matches no token: the client is never identified, only named by the gateway itself.
    tokenDigest: new Uint8Array(),
    scopes: null,
    deny: [],
    priority: "normal",
    limits: withDefaults({}, defaults),
  };
  return {
    clients,
    reserve,
    variables: rendered.variables,
    webhooks: { rules, client: webhooksClient },
    warnings,
  };
}

/** The key node of `key` in `map`, for a problem found after parsing to name its line. */
function keyNode(map: YAMLMap, key: string): unknown {
  return map.items.find((pair) => isScalar(pair.key) && pair.key.value === key)?.key;
}

/** Reads nodes with aliases (`*shared`) resolved, as the Python proxy's PyYAML did. */
interface Field {
  /** A mapping's value node; undefined when the key is absent. */
  (map: YAMLMap, key: string): unknown;
  resolve(node: unknown): unknown;
}

function fieldReader(doc: Document): Field {
  const resolve = (node: unknown) => isAlias(node) ? node.resolve(doc) : node;
  return Object.assign((map: YAMLMap, key: string) => resolve(map.get(key, true)), { resolve });
}

/** A key written with no value: nothing, `~`, `null` or blanks. */
function isEmpty(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  if (!isScalar(node)) return false;
  return node.value === null || node.value === undefined ||
    (typeof node.value === "string" && node.value.trim() === "");
}

/** Reads a scalar as text; `what` names it in problems. */
type Text = (node: unknown, what: string) => string | undefined;

/**
 * A scalar's text as written in `source`, trimmed; undefined when absent, empty or null; a list or
 * mapping is a problem. YAML reads an unquoted `0x1F2E3D4C` as 523124044, `000123` as 123 and
 * `.inf` as Infinity, but a token (or a name, a pattern) is the characters written: a plain
 * scalar that YAML typed is taken as its source text. An explicit tag (`!!int 12`) asks for a
 * conversion that text cannot have, and is refused.
 */
function textReader(source: string, at: At, problems: string[]): Text {
  return (node, what) => {
    if (node === undefined || node === null) return undefined;
    if (!isScalar(node)) {
      problems.push(`${at(node)}: ${what} must be a single value, not a list or mapping`);
      return undefined;
    }
    if (node.value === null || node.value === undefined) return undefined;
    let value: string;
    if (typeof node.value === "string") {
      value = node.value;
    } else if (node.type === Scalar.PLAIN && node.tag === undefined && node.range) {
      value = source.slice(node.range[0], node.range[1]);
    } else {
      problems.push(`${at(node)}: ${what} must be text; write it in quotes`);
      return undefined;
    }
    value = value.trim();
    return value === "" ? undefined : value;
  };
}

function clientDigest(
  item: YAMLMap,
  field: Field,
  text: Text,
  name: string,
  where: string,
  problems: string[],
): Uint8Array | undefined {
  const token = text(field(item, "token"), `client "${name}" token`);
  const hashed = text(field(item, "token_sha256"), `client "${name}" token_sha256`);
  if (item.has("token") && item.has("token_sha256")) {
    problems.push(`${where}: client "${name}" has both "token" and "token_sha256"; keep one`);
    return undefined;
  }
  if (token) return sha256(token);
  if (hashed) {
    if (/^[0-9a-f]{64}$/i.test(hashed)) return fromHex(hashed);
    problems.push(`${where}: client "${name}" token_sha256 must be 64 hex digits`);
    return undefined;
  }
  problems.push(`${where}: client "${name}" has an empty or missing token`);
  return undefined;
}

function parseRules(
  node: unknown,
  what: string,
  field: Field,
  text: Text,
  at: At,
  problems: string[],
): ScopeRule[] {
  if (!isSeq(node)) {
    const empty = isScalar(node) && node.value === null;
    problems.push(
      empty
        ? `${at(node)}: ${what} is empty; write [] for no access, or remove the key for full access`
        : `${at(node)}: ${what} must be a list`,
    );
    return [];
  }
  const rules: ScopeRule[] = [];
  for (const item of node.items) {
    const ruleNode = field.resolve(item);
    const where = at(ruleNode);
    if (!isMap(ruleNode)) {
      problems.push(
        `${where}: each of ${what} must be a mapping with "path" and optional "method"`,
      );
      continue;
    }
    const written = new Map<string, string>();
    let broken = false;
    for (const pair of ruleNode.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (!RULE_FIELDS.has(key)) {
        problems.push(`${at(pair.key)}: unknown field "${key}" in ${what}`);
        continue;
      }
      const node = field.resolve(pair.value);
      if (isEmpty(node)) {
        // `method: # POST` must not mean every method, nor `graphql:` every operation.
        problems.push(
          `${at(pair.key)}: ${what} "${key}" is empty; write a value or remove the key`,
        );
        broken = true;
        continue;
      }
      const value = text(node, `${what} "${key}"`);
      if (value === undefined) broken = true;
      else written.set(key, value);
    }
    if (broken) continue;
    const path = written.get("path");
    const method = written.get("method") ?? ".*";
    const graphql = written.get("graphql") ?? "any";
    if (!path) {
      problems.push(`${where}: ${what} rule has no "path"`);
      continue;
    }
    if (!GRAPHQL_VALUES.has(graphql)) {
      problems.push(`${where}: "graphql" must be query, mutation or any, got "${graphql}"`);
      continue;
    }
    const pathPattern = compiled(path, `${where}: invalid path regex`, problems);
    const methodPattern = compiled(method, `${where}: invalid method regex`, problems);
    if (pathPattern && methodPattern) {
      rules.push({
        path: pathPattern,
        method: methodPattern,
        graphql: graphql as GraphqlAllowance,
        source: `${method} ${path}`,
      });
    }
  }
  return rules;
}

/** Whole-string, case-insensitive: GitHub treats owner and repository names case-insensitively. */
function compiled(pattern: string, error: string, problems: string[]): ScopePattern | undefined {
  const result = compileScopePattern(pattern);
  if (result.ok) return result.pattern;
  problems.push(`${error} "${pattern}": ${result.reason}`);
  return undefined;
}

function parseCache(
  node: unknown,
  name: string,
  field: Field,
  at: At,
  problems: string[],
): number | undefined {
  if (node === undefined) return undefined;
  const where = at(node);
  if (!isMap(node)) {
    problems.push(`${where}: client "${name}" cache must be a mapping like {max_age: 60}`);
    return undefined;
  }
  for (const pair of node.items) {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (key !== "max_age") {
      problems.push(`${at(pair.key)}: unknown field "${key}" in cache`);
    }
  }
  const maxAgeNode = field(node, "max_age");
  const maxAge = isScalar(maxAgeNode) ? maxAgeNode.value : undefined;
  if (typeof maxAge !== "number" || !Number.isInteger(maxAge) || maxAge < 0) {
    problems.push(`${where}: client "${name}" cache.max_age must be a whole number of seconds`);
    return undefined;
  }
  return maxAge;
}
