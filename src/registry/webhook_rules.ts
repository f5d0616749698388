/**
 * The registry's `webhooks:` rules (DESIGN §6, §12): `on: event[.action]` and exactly one of
 * `dispatch:` (a workflow dispatch) or `repository_dispatch:`. Malformed rules are problems at
 * their line; an event name GitHub does not send is a warning (the rule loads, and never fires).
 * Strings may hold `{{ event.a.b }}` lookups, checked here and filled per delivery
 * (`webhooks/rules.ts`); the registry's `{{ env.NAME }}` pass has already run and leaves them be.
 */
import { isMap, isScalar, isSeq, type YAMLMap } from "yaml";
import { WEBHOOK_EVENTS } from "../webhooks/events.ts";
import { templateProblem } from "../webhooks/template.ts";
import type { At, FieldOf } from "./fair_share.ts";
import type { TemplateValue, WebhookRule, WebhookTarget } from "./model.ts";

const RULE_FIELDS = new Set(["on", "dispatch", "repository_dispatch"]);
const DISPATCH_FIELDS = new Set(["repository", "workflow", "ref", "inputs"]);
const REPOSITORY_DISPATCH_FIELDS = new Set(["repository", "event_type", "client_payload"]);
const ON = /^([a-z_]+)(?:\.([a-z_]+))?$/;
/**
 * `owner/name` as GitHub allows them, never `.` or `..` as the name (a path segment that would
 * climb out of the repository); a value with a lookup is checked once it is filled.
 */
export const REPOSITORY = /^[A-Za-z0-9-]+\/(?!\.\.?$)[A-Za-z0-9._-]+$/;

/** Whether `value` is `.` or `..`: a workflow so named would leave the dispatch path. */
export function isDotSegment(value: string): boolean {
  return value === "." || value === "..";
}

/** The rules under `webhooks:`; problems and warnings are pushed, each `file:line: …`. */
export function parseWebhookRules(
  node: unknown,
  field: FieldOf,
  resolve: (node: unknown) => unknown,
  at: At,
  problems: string[],
  warnings: string[],
): WebhookRule[] {
  if (node === undefined) return [];
  if (!isSeq(node)) {
    problems.push(`${at(node)}: "webhooks" must be a list of rules`);
    return [];
  }
  const rules: WebhookRule[] = [];
  node.items.forEach((item, index) => {
    const rule = resolve(item);
    const where = at(rule);
    const name = `webhooks[${index}]`;
    if (!isMap(rule)) {
      problems.push(
        `${where}: ${name} must be a mapping with "on" and "dispatch" or "repository_dispatch"`,
      );
      return;
    }
    unknownFields(rule, RULE_FIELDS, name, at, problems);
    const on = scalarText(field(rule, "on"));
    const match = on === undefined ? null : ON.exec(on);
    if (!match) {
      problems.push(
        `${where}: ${name} "on" must be an event name, optionally .action (e.g. repository.created)`,
      );
      return;
    }
    const [, event, action] = match;
    if (!WEBHOOK_EVENTS.has(event)) {
      warnings.push(
        `${
          at(field(rule, "on"))
        }: ${name} "on: ${on}": GitHub sends no "${event}" event; the rule never fires`,
      );
    }
    const dispatch = field(rule, "dispatch");
    const repositoryDispatch = field(rule, "repository_dispatch");
    if ((dispatch === undefined) === (repositoryDispatch === undefined)) {
      problems.push(`${where}: ${name} needs exactly one of "dispatch" or "repository_dispatch"`);
      return;
    }
    const reader = { field, resolve, at, problems, name };
    const target = dispatch !== undefined
      ? dispatchTarget(dispatch, reader)
      : repositoryDispatchTarget(repositoryDispatch, reader);
    if (target) {
      rules.push({ label: `${name} ${on}`, event, ...(action ? { action } : {}), target });
    }
  });
  return rules;
}

interface Reader {
  readonly field: FieldOf;
  readonly resolve: (node: unknown) => unknown;
  readonly at: At;
  readonly problems: string[];
  /** `webhooks[0]`, for messages. */
  readonly name: string;
}

function dispatchTarget(node: unknown, r: Reader): WebhookTarget | undefined {
  const map = targetMap(node, "dispatch", DISPATCH_FIELDS, r);
  if (!map) return undefined;
  const repository = repositoryOf(map, "dispatch", r);
  const workflow = required(map, "workflow", "dispatch", r);
  if (workflow !== undefined && isDotSegment(workflow)) {
    r.problems.push(
      `${
        r.at(r.field(map, "workflow"))
      }: ${r.name} dispatch.workflow must be a workflow file name or id, got "${workflow}"`,
    );
    return undefined;
  }
  const ref = required(map, "ref", "dispatch", r);
  const inputs = objectOf(r.field(map, "inputs"), `dispatch.inputs`, r);
  if (!repository || !workflow || !ref || !inputs) return undefined;
  return { kind: "dispatch", repository, workflow, ref, inputs };
}

function repositoryDispatchTarget(node: unknown, r: Reader): WebhookTarget | undefined {
  const map = targetMap(node, "repository_dispatch", REPOSITORY_DISPATCH_FIELDS, r);
  if (!map) return undefined;
  const repository = repositoryOf(map, "repository_dispatch", r);
  const eventType = required(map, "event_type", "repository_dispatch", r);
  const clientPayload = objectOf(
    r.field(map, "client_payload"),
    "repository_dispatch.client_payload",
    r,
  );
  if (!repository || !eventType || !clientPayload) return undefined;
  return { kind: "repository_dispatch", repository, eventType, clientPayload };
}

function targetMap(
  node: unknown,
  kind: string,
  fields: ReadonlySet<string>,
  r: Reader,
): YAMLMap | undefined {
  if (!isMap(node)) {
    r.problems.push(`${r.at(node)}: ${r.name} "${kind}" must be a mapping`);
    return undefined;
  }
  unknownFields(node, fields, `${r.name} ${kind}`, r.at, r.problems);
  return node;
}

function repositoryOf(map: YAMLMap, kind: string, r: Reader): string | undefined {
  const repository = required(map, "repository", kind, r);
  if (repository === undefined) return undefined;
  if (!repository.includes("{{") && !REPOSITORY.test(repository)) {
    r.problems.push(
      `${
        r.at(r.field(map, "repository"))
      }: ${r.name} ${kind}.repository must be owner/name, got "${repository}"`,
    );
    return undefined;
  }
  return repository;
}

/** A required text field, its lookups checked. */
function required(map: YAMLMap, key: string, kind: string, r: Reader): string | undefined {
  const node = r.field(map, key);
  const value = scalarText(node);
  if (value === undefined || value === "") {
    r.problems.push(`${r.at(node ?? map)}: ${r.name} ${kind} has no "${key}"`);
    return undefined;
  }
  return checked(value, node, `${kind}.${key}`, r);
}

/** An optional mapping of values (`inputs`, `client_payload`); `{}` when absent. */
function objectOf(
  node: unknown,
  what: string,
  r: Reader,
): { readonly [key: string]: TemplateValue } | undefined {
  if (node === undefined) return {};
  const value = templateValue(node, what, r);
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    r.problems.push(`${r.at(node)}: ${r.name} ${what} must be a mapping`);
    return undefined;
  }
  return value as { readonly [key: string]: TemplateValue };
}

/** A YAML node as JSON, each string's lookups checked; undefined after a problem. */
function templateValue(node: unknown, what: string, r: Reader): TemplateValue | undefined {
  const resolved = r.resolve(node);
  if (isMap(resolved)) {
    const out: Record<string, TemplateValue> = {};
    let ok = true;
    for (const pair of resolved.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const value = templateValue(pair.value, `${what}.${key}`, r);
      if (value === undefined) ok = false;
      else out[key] = value;
    }
    return ok ? out : undefined;
  }
  if (isSeq(resolved)) {
    const items = resolved.items.map((item, i) => templateValue(item, `${what}[${i}]`, r));
    return items.every((item) => item !== undefined) ? items as TemplateValue[] : undefined;
  }
  if (isScalar(resolved)) {
    const value = resolved.value;
    if (typeof value === "string") return checked(value, resolved, what, r);
    if (value === null || typeof value === "number" || typeof value === "boolean") return value;
  }
  r.problems.push(
    `${r.at(resolved)}: ${r.name} ${what} must be text, a number, true/false, a list or a mapping`,
  );
  return undefined;
}

function checked(value: string, node: unknown, what: string, r: Reader): string | undefined {
  const problem = templateProblem(value);
  if (problem === undefined) return value;
  r.problems.push(`${r.at(node)}: ${r.name} ${what}: ${problem}`);
  return undefined;
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
  return String(node.value).trim();
}

function unknownFields(
  map: YAMLMap,
  known: ReadonlySet<string>,
  what: string,
  at: At,
  problems: string[],
): void {
  for (const pair of map.items) {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (!known.has(key)) problems.push(`${at(pair.key)}: unknown field "${key}" in ${what}`);
  }
}
