/**
 * What GitHub's answers say about a credential's rate limits (DESIGN §8): pure parsing of the
 * `x-ratelimit-*` headers, `retry-after`, primary and secondary limit answers, GraphQL's
 * rate-limit errors that arrive in HTTP 200, and the points an answer cost. Times are on the
 * gateway's clock: GitHub's are converted with its own `Date` header, so clock drift cancels out.
 */

/** A credential's quota for one resource as of one answer. */
export interface RateLimitView {
  readonly resource: string | undefined;
  readonly limit: number;
  readonly remaining: number;
  /** When the quota refills, in epoch milliseconds on the gateway's clock. */
  readonly resetAtMs: number;
}

/** What a limit answer means for the credential that received it. */
export type LimitVerdict =
  | { readonly kind: "none" }
  | { readonly kind: "primary" | "secondary"; readonly untilMs: number };

/** The parts of an upstream answer that limit detection reads. */
export interface AnswerFacts {
  readonly status: number;
  readonly headers: Headers;
  /** The body text, read only when it can matter (403, 429, 401, GraphQL 200). */
  readonly body: string | undefined;
  /** The gateway's clock when the answer arrived. */
  readonly receivedAtMs: number;
}

/** Secondary limits without `retry-after` wait this long (GitHub asks for at least a minute). */
export const SECONDARY_FALLBACK_MS = 60_000;

const SECONDARY_MESSAGE = /secondary rate limit|abuse detection/i;

/**
 * GitHub's clock minus the gateway's, from GitHub's `Date` header (0 without one). `Date` has
 * whole seconds, so GitHub's true time may be up to a second later: the estimate errs towards
 * waiting longer, never shorter.
 */
export function clockOffsetMs(date: string | null, receivedAtMs: number): number {
  const github = date === null ? NaN : Date.parse(date);
  return Number.isFinite(github) ? github - receivedAtMs : 0;
}

function integerHeader(headers: Headers, name: string): number | undefined {
  const raw = headers.get(name)?.trim();
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/** The quota the `x-ratelimit-*` headers describe, or undefined when they are absent. */
export function readRateLimit(headers: Headers, receivedAtMs: number): RateLimitView | undefined {
  const limit = integerHeader(headers, "x-ratelimit-limit");
  const remaining = integerHeader(headers, "x-ratelimit-remaining");
  const reset = integerHeader(headers, "x-ratelimit-reset");
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  const offset = clockOffsetMs(headers.get("date"), receivedAtMs);
  return {
    resource: headers.get("x-ratelimit-resource")?.trim() || undefined,
    limit,
    remaining,
    resetAtMs: reset * 1000 - offset,
  };
}

/** Milliseconds `retry-after` asks to wait (seconds or an HTTP date), undefined when absent. */
export function retryAfterMs(headers: Headers, receivedAtMs: number): number | undefined {
  const raw = headers.get("retry-after")?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - clockOffsetMs(headers.get("date"), receivedAtMs) - receivedAtMs);
}

function jsonOf(body: string | undefined): unknown {
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function messageOf(body: string | undefined): string {
  const value = jsonOf(body);
  return typeof value === "object" && value !== null && "message" in value &&
      typeof value.message === "string"
    ? value.message
    : "";
}

/**
 * A GraphQL answer whose errors include a rate limit, in either of GitHub's spellings: type
 * `RATE_LIMITED`, or type `RATE_LIMIT` / code `graphql_rate_limit`. Whatever
 * `x-ratelimit-remaining` says: a query costing more than is left is refused with points left.
 */
export function isGraphqlRateLimited(body: string | undefined): boolean {
  if (body === undefined || !/RATE_LIMIT|graphql_rate_limit/.test(body)) return false;
  const value = jsonOf(body);
  if (typeof value !== "object" || value === null || !("errors" in value)) return false;
  const errors = value.errors;
  return Array.isArray(errors) &&
    errors.some((error) =>
      typeof error === "object" && error !== null &&
      (error.type === "RATE_LIMITED" || error.type === "RATE_LIMIT" ||
        error.code === "graphql_rate_limit")
    );
}

/** GitHub refused the credential itself (not a JWT-only endpoint or similar 401). */
export function isBadCredentials(status: number, body: string | undefined): boolean {
  return status === 401 && /^bad credentials$/i.test(messageOf(body).trim());
}

/**
 * Whether an answer is a rate-limit refusal and until when the credential must rest. Primary:
 * 403/429 with `x-ratelimit-remaining: 0`, or a GraphQL `RATE_LIMITED` error → until the reset
 * plus `paddingMs`. Secondary: 403/429 with `retry-after` or a secondary-limit message, and any
 * other 429 → for `retry-after` (a minute when absent).
 */
export function limitVerdict(answer: AnswerFacts, paddingMs: number): LimitVerdict {
  const { status, headers, body, receivedAtMs } = answer;
  const primaryUntil = () => {
    const view = readRateLimit(headers, receivedAtMs);
    return Math.max(view?.resetAtMs ?? receivedAtMs + SECONDARY_FALLBACK_MS, receivedAtMs) +
      paddingMs;
  };
  if (status === 200) {
    return isGraphqlRateLimited(body) ? { kind: "primary", untilMs: primaryUntil() } : NONE;
  }
  if (status !== 403 && status !== 429) return NONE;
  const retryAfter = retryAfterMs(headers, receivedAtMs);
  const secondary = SECONDARY_MESSAGE.test(messageOf(body));
  if (headers.get("x-ratelimit-remaining")?.trim() === "0" && !secondary) {
    return { kind: "primary", untilMs: primaryUntil() };
  }
  if (secondary || retryAfter !== undefined || status === 429) {
    return {
      kind: "secondary",
      untilMs: receivedAtMs + (retryAfter ?? SECONDARY_FALLBACK_MS),
    };
  }
  return NONE;
}

const NONE: LimitVerdict = { kind: "none" };

/** A quota as last seen: what `pointsSpent` compares. */
export type QuotaReading = Pick<RateLimitView, "limit" | "remaining" | "resetAtMs">;

/** Reset times read in different seconds may differ by this much and still be one window. */
const SAME_WINDOW_MS = 2000;

/**
 * Rate-limit points an answer cost (DESIGN §11): none for a 304, a refusal (a limit or bad
 * credentials) or an answer without rate-limit headers. REST: 1. GraphQL: the change of
 * `x-ratelimit-used` since the owner's previous answer (`before`), at least 1; in a new window,
 * everything used in it; 1 when there is nothing to compare with.
 */
export function pointsSpent(
  status: number,
  graphql: boolean,
  before: QuotaReading | undefined,
  after: QuotaReading | undefined,
  refused: boolean,
): number {
  if (after === undefined || refused || status === 304) return 0;
  if (!graphql || before === undefined) return 1;
  const used = after.limit - after.remaining;
  const sameWindow = Math.abs(after.resetAtMs - before.resetAtMs) <= SAME_WINDOW_MS;
  return Math.max(1, sameWindow ? used - (before.limit - before.remaining) : used);
}
