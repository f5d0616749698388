/**
 * Which GitHub account each PAT belongs to (DESIGN §8): `GET /user` once per PAT before the
 * pool's first call, so PATs of one user are grouped into one owner and one budget. An App
 * installation is its own owner and is not asked. A PAT whose owner cannot be learnt is its own
 * owner (logged); one GitHub refuses (401) is marked bad as any refused PAT.
 */
import type { Logger } from "../log.ts";
import type { Transport } from "../http/upstream.ts";
import {
  isBadCredentials,
  type LimitVerdict,
  limitVerdict,
  type QuotaReading,
  readRateLimit,
} from "./rate_limit.ts";
import { type Credential, markRefused } from "./standing.ts";

/** One lookup may take this long, answer included. */
const LOOKUP_TIMEOUT_MS = 10_000;

/** What `GET /user` said for one PAT. */
export interface OwnerLookup {
  readonly login: string | undefined;
  /** The `core` quota the answer showed, to start the owner's standing with. */
  readonly core: QuotaReading | undefined;
  /** A limit the lookup itself met: the owner parks or cools down as after any call. */
  readonly verdict: LimitVerdict;
}

const NOTHING: OwnerLookup = { login: undefined, core: undefined, verdict: { kind: "none" } };

/** Looks every PAT's owner up at once (`client` names the pool in the calls). */
export async function lookUpOwners(
  credentials: readonly Credential[],
  next: Transport,
  apiUrl: string,
  logger: Logger,
  now: () => number,
  paddingMs: number,
): Promise<Map<Credential, OwnerLookup>> {
  const pats = credentials.filter((credential) => credential.source.kind === "pat");
  const found = await Promise.all(
    pats.map(async (credential) =>
      [credential, await lookUp(credential, next, apiUrl, logger, now, paddingMs)] as const
    ),
  );
  const lookups = new Map(found);
  warnShared(lookups, logger);
  return lookups;
}

async function lookUp(
  credential: Credential,
  next: Transport,
  apiUrl: string,
  logger: Logger,
  now: () => number,
  paddingMs: number,
): Promise<OwnerLookup> {
  const source = credential.source;
  if (source.kind !== "pat") return NOTHING;
  const name = source.name;
  try {
    const answer = await next({
      method: "GET",
      url: `${apiUrl}/user`,
      headers: new Headers({ authorization: `token ${source.token}`, accept: "application/json" }),
      body: null,
      signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      deadlined: true,
      resource: "core",
      client: "github-proxy",
      replayable: true,
    });
    const { response } = answer;
    const text = await response.text();
    const receivedAtMs = now();
    const core = readRateLimit(response.headers, receivedAtMs);
    const verdict = limitVerdict(
      { status: response.status, headers: response.headers, body: text, receivedAtMs },
      paddingMs,
    );
    if (isBadCredentials(response.status, text)) {
      markRefused(credential, receivedAtMs);
      logger.error("GitHub refused a personal access token (401): excluded until reload", {
        credential: name,
      });
      return NOTHING;
    }
    const login = response.status === 200 ? loginOf(text) : undefined;
    if (login === undefined) {
      logger.warn("owner of a credential not learnt: it counts as its own GitHub account", {
        credential: name,
        status: response.status,
      });
    }
    return { login, core, verdict };
  } catch (error) {
    logger.warn("owner of a credential not learnt: it counts as its own GitHub account", {
      credential: name,
      error: error instanceof Error ? error.name : "error",
    });
    return NOTHING;
  }
}

function loginOf(text: string): string | undefined {
  try {
    const value = JSON.parse(text);
    return typeof value?.login === "string" && value.login !== "" ? value.login : undefined;
  } catch {
    return undefined;
  }
}

/** PATs of one account add no quota: said once, naming the credentials, never the tokens. */
function warnShared(lookups: ReadonlyMap<Credential, OwnerLookup>, logger: Logger): void {
  const byLogin = new Map<string, string[]>();
  for (const [credential, { login }] of lookups) {
    if (login === undefined) continue;
    byLogin.set(login, [...byLogin.get(login) ?? [], credential.source.name]);
  }
  for (const names of byLogin.values()) {
    if (names.length < 2) continue;
    logger.warn(
      "credentials belong to the same GitHub account: they share one budget and add no quota",
      {
        credentials: names,
      },
    );
  }
}
