/**
 * The registry's fair-share fields (DESIGN §6, §11): a client's `priority` and `limits`, the
 * top-level `defaults.limits` and `reserve`. Each problem is reported at its line, like the rest
 * of the file.
 */
import { isMap, isScalar, type YAMLMap } from "yaml";
import type { Limits, Priority, Reserve } from "./model.ts";

/** Where a node is written (`file:line`). */
export type At = (node: unknown) => string;
/** A mapping's value node with aliases resolved; undefined when the key is absent. */
export type FieldOf = (map: YAMLMap, key: string) => unknown;

/**
 * Kept back when the file says nothing: below 30 % of a resource's capacity, clients marked
 * `low` start no new upstream calls. `normal` (every client that says nothing) uses the pool to
 * the end unless `reserve.normal` is set: a share kept back for `high` clients is wasted in a
 * registry that has none, and a registry without fair-share fields keeps its old behaviour.
 */
export const DEFAULT_RESERVE: Reserve = { low: 30, normal: 0 };

const PRIORITIES = new Set<string>(["low", "normal", "high"]);
const LIMIT_FIELDS: Readonly<Record<string, keyof Limits>> = {
  points_per_hour: "pointsPerHour",
  requests_per_minute: "requestsPerMinute",
  concurrency: "concurrency",
};

function keysOf(map: YAMLMap): { key: string; node: unknown }[] {
  return map.items.map((pair) => ({
    key: String(isScalar(pair.key) ? pair.key.value : pair.key),
    node: pair.key,
  }));
}

/**
 * `node` as a mapping; undefined when it is absent, or (a problem, `what` and its `example`
 * named) when it is something else.
 */
function mapping(
  node: unknown,
  what: string,
  example: string,
  at: At,
  problems: string[],
): YAMLMap | undefined {
  if (node === undefined) return undefined;
  if (isMap(node)) return node;
  problems.push(`${at(node)}: ${what} must be a mapping like ${example}`);
  return undefined;
}

/** `priority:` of a client; `normal` when absent. */
export function parsePriority(
  node: unknown,
  name: string,
  at: At,
  problems: string[],
): Priority {
  if (node === undefined) return "normal";
  const value = isScalar(node) ? node.value : undefined;
  if (typeof value === "string" && PRIORITIES.has(value)) return value as Priority;
  problems.push(`${at(node)}: client "${name}" priority must be low, normal or high`);
  return "normal";
}

/** A `limits:` mapping (a client's, or `defaults.limits`); `what` names it in problems. */
export function parseLimits(
  node: unknown,
  what: string,
  field: FieldOf,
  at: At,
  problems: string[],
): Limits {
  const map = mapping(node, what, "{points_per_hour: 1000}", at, problems);
  if (!map) return {};
  const limits: Record<string, number> = {};
  for (const { key, node: keyNode } of keysOf(map)) {
    const target = LIMIT_FIELDS[key];
    if (!Object.hasOwn(LIMIT_FIELDS, key)) {
      problems.push(`${at(keyNode)}: unknown field "${key}" in ${what}`);
      continue;
    }
    const valueNode = field(map, key);
    const value = isScalar(valueNode) ? valueNode.value : undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
      problems.push(`${at(valueNode ?? keyNode)}: ${what}.${key} must be a whole number above 0`);
      continue;
    }
    limits[target] = value;
  }
  return limits;
}

/** The top-level `defaults:` (only `limits` so far). */
export function parseDefaults(
  node: unknown,
  field: FieldOf,
  at: At,
  problems: string[],
): Limits {
  const map = mapping(node, `"defaults"`, "{limits: {points_per_hour: 3000}}", at, problems);
  if (!map) return {};
  for (const { key, node: keyNode } of keysOf(map)) {
    if (key !== "limits") problems.push(`${at(keyNode)}: unknown field "${key}" in defaults`);
  }
  return parseLimits(field(map, "limits"), "defaults.limits", field, at, problems);
}

/** The top-level `reserve:`; each absent % is `DEFAULT_RESERVE`'s. */
export function parseReserve(
  node: unknown,
  field: FieldOf,
  at: At,
  problems: string[],
): Reserve {
  const map = mapping(node, `"reserve"`, "{low: 30, normal: 10}", at, problems);
  if (!map) return DEFAULT_RESERVE;
  const reserve = { ...DEFAULT_RESERVE };
  for (const { key, node: keyNode } of keysOf(map)) {
    if (key !== "low" && key !== "normal") {
      problems.push(`${at(keyNode)}: unknown field "${key}" in reserve`);
      continue;
    }
    const valueNode = field(map, key);
    const value = isScalar(valueNode) ? valueNode.value : undefined;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 100) {
      problems.push(`${at(valueNode ?? keyNode)}: reserve.${key} must be a % from 0 to 100`);
      continue;
    }
    reserve[key] = value;
  }
  if (reserve.low < reserve.normal) {
    const where = at(map);
    problems.push(
      `${where}: reserve.low (${reserve.low}) must be at least reserve.normal (${reserve.normal}): low priority stops first`,
    );
  }
  return reserve;
}

/** A client's limits: each one it does not set is the default's. */
export function withDefaults(own: Limits, defaults: Limits): Limits {
  return { ...defaults, ...own };
}
