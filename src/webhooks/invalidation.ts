/**
 * Event → stale resources, the table of DESIGN §12 as a pure function: what a delivery's event
 * can have changed under its repository (`payload.repository.full_name`) or organisation
 * (`payload.organization.login`). `{ref}`, `{n}` and `{sha}` come from the payload; when the
 * payload lacks one, the pattern widens to any value of that segment (more revalidations, never
 * a stale read).
 */
import { organizationScope, repositoryScope, type StaleResource } from "./stale_resource.ts";

/** What one event invalidates. */
export interface Invalidation {
  readonly resources: readonly StaleResource[];
  /** The event changes which installations exist or what they cover (DESIGN §8 routing). */
  readonly installations: boolean;
}

type Payload = Record<string, unknown>;

/** Patterns under the repository, by event; `{…}` are filled from the payload. */
const REPOSITORY_PATTERNS: Readonly<Record<string, (p: Payload) => readonly string[]>> = {
  push: (p) => [
    "commits*",
    "branches*",
    "git/*",
    "compare/*",
    "contents/*",
    "readme*",
    `commits/${segment(branchOf(p.ref))}/status*`,
    "check-runs",
  ],
  create: () => REFS,
  delete: () => REFS,
  pull_request: (p) => pullRequest(p),
  issues: () => ISSUES,
  issue_comment: () => ISSUES,
  label: () => ISSUES,
  milestone: () => ISSUES,
  sub_issues: () => ISSUES,
  check_run: (p) => checks(field(p, "check_run", "head_sha")),
  check_suite: (p) => checks(field(p, "check_suite", "head_sha")),
  status: (p) => checks(p.sha),
  workflow_run: () => ACTIONS,
  workflow_job: () => ACTIONS,
  release: () => ["releases*"],
  repository: () => SETTINGS,
  branch_protection_rule: () => SETTINGS,
  repository_ruleset: () => SETTINGS,
  member: () => COLLABORATORS,
  membership: () => COLLABORATORS,
  team: () => COLLABORATORS,
  organization: () => COLLABORATORS,
};

const REFS = ["branches*", "tags*", "git/refs*", "git/matching-refs/*"];
const ISSUES = ["issues*", "labels*", "milestones*"];
const ACTIONS = ["actions/runs*", "actions/jobs/*"];
const SETTINGS = ["", "branches/*/protection*", "rulesets*"];
const COLLABORATORS = ["collaborators*"];
/** Under `/orgs/{o}` for the membership events. */
const ORGANIZATION_PATTERNS = ["members*", "teams*"];
const MEMBERSHIP_EVENTS = new Set(["member", "membership", "team", "organization"]);

/** The resources `event` (the `X-GitHub-Event` header) with `payload` marks stale. */
export function invalidation(event: string, payload: unknown): Invalidation {
  const p = isObject(payload) ? payload : {};
  const family = familyOf(event);
  if (family === "installation") return { resources: [], installations: true };
  const resources: StaleResource[] = [];
  const repository = isObject(p.repository) ? p.repository.full_name : undefined;
  const patterns = REPOSITORY_PATTERNS[family];
  if (patterns && typeof repository === "string" && repository.includes("/")) {
    const scope = repositoryScope(repository);
    for (const pattern of patterns(p)) resources.push({ scope, pattern });
  }
  const organization = isObject(p.organization) ? p.organization.login : undefined;
  if (MEMBERSHIP_EVENTS.has(family) && typeof organization === "string" && organization) {
    const scope = organizationScope(organization);
    for (const pattern of ORGANIZATION_PATTERNS) resources.push({ scope, pattern });
  }
  return { resources, installations: false };
}

/**
 * The table's row for an event: `pull_request*`, `team*` and `installation*` are families
 * (`pull_request_review`, `team_add`, `installation_repositories`, …).
 */
function familyOf(event: string): string {
  for (const family of ["pull_request", "team", "installation"]) {
    if (event === family || event.startsWith(`${family}_`)) return family;
  }
  return event;
}

function pullRequest(p: Payload): readonly string[] {
  const n = segment(field(p, "pull_request", "number") ?? field(p, "issue", "number") ?? p.number);
  return ["pulls", `pulls/${n}`, `pulls/${n}/*`, "issues", `issues/${n}`, `issues/${n}/*`];
}

function checks(sha: unknown): readonly string[] {
  const s = segment(sha);
  return [`commits/${s}/check-*`, `commits/${s}/status*`, "check-runs/*", "check-suites/*"];
}

/** `refs/heads/main` → `main` (a tag push names its tag); other values as they are. */
function branchOf(ref: unknown): unknown {
  return typeof ref === "string" ? ref.replace(/^refs\/(?:heads|tags)\//, "") : ref;
}

/**
 * A payload value as one path segment: a string or number without `/` or `*`; anything else
 * (absent, or a branch name with `/`) widens to `*`, any segment. A branch with `/` is several
 * segments in a path, which a one-segment `*` does not cover; the pattern's other rows (such as
 * push's `commits*`) do.
 */
function segment(value: unknown): string {
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  if (typeof value === "string" && /^[^/*]+$/.test(value)) return value;
  return "*";
}

function field(p: Payload, object: string, name: string): unknown {
  const inner = p[object];
  return isObject(inner) ? inner[name] : undefined;
}

function isObject(value: unknown): value is Payload {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
