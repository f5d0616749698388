/**
 * Where each credential stands, grouped by owner (DESIGN §8): GitHub budgets belong to accounts,
 * so quotas, parking and secondary-limit cooldowns are per owner and resource, and every PAT of
 * one user is one owner. A credential itself can only be refused by GitHub (bad) or rest (an App
 * that could not mint). From that follow the choices: which credential takes a request, the
 * pool's totals (each owner once), and the pool's own answer when none can.
 */
import { createHash } from "node:crypto";
import type { RateLimitStatus } from "../http/rate_refusal.ts";
import type { CredentialSource } from "./sources.ts";
import { exhaustedResponse, noCredentialResponse, secondaryLimitResponse } from "./exhausted.ts";
import type { OwnerSnapshot, PoolSnapshot } from "./events.ts";
import { type GateLimits, OwnerGate } from "./owner_gate.ts";
import {
  availableAtMs,
  choose,
  newQuota,
  type PoolTotals,
  poolTotals,
  type Quota,
  remainingNow,
  score,
} from "./quota.ts";

export interface Credential {
  readonly source: CredentialSource;
  /** Refused by GitHub (a PAT's 401): out of the pool until a reload (`SIGHUP`) or restart. */
  bad: boolean;
  /**
   * When `bad` was last decided (epoch ms): GitHub's refusal, or the (re)load that tries the PAT
   * again. Of two replicas' verdicts on the same secret the later holds (`absorb`).
   */
  verdictAtMs: number;
  /** A PAT's `secretFingerprint`: ties a shared verdict to the secret it was about. */
  readonly fingerprint: string | undefined;
  /** An App that could not mint rests until then. */
  unusableUntilMs: number;
  owner: Owner;
}

/** One GitHub account: the budget its credentials share. */
export interface Owner {
  /** The name of its first credential: the owner's name in logs, metrics and answers. */
  readonly name: string;
  /** The account's login once GitHub named it (PATs only). */
  readonly login: string | undefined;
  readonly credentials: Credential[];
  readonly quotas: Map<string, Quota>;
  /** After a secondary limit nothing is sent on the owner until then (epoch ms); 0 otherwise. */
  frozenUntilMs: number;
  readonly gate: OwnerGate;
  /** Round-robin among its credentials. */
  cursor: number;
}

type QuotaView = Quota["view"];

/** One resource of one owner as replicas exchange it. */
export interface QuotaRecord {
  readonly view: QuotaView;
  readonly parkedUntilMs: number;
}

/** One owner as replicas exchange it. */
export interface OwnerRecord {
  readonly frozenUntilMs: number;
  readonly quotas: Readonly<Record<string, QuotaRecord>>;
}

/** One PAT's verdict as replicas exchange it: refused or tried again, when, for which secret. */
export interface PatRecord {
  /** `secretFingerprint` of the token the verdict is about. */
  readonly secret: string;
  readonly bad: boolean;
  readonly atMs: number;
}

/** What one replica learnt of the pool, keyed by owner name; see `Standing.learnt`. */
export interface StandingRecord {
  readonly owners: Readonly<Record<string, OwnerRecord>>;
  /** Every PAT's verdict, by credential name. */
  readonly pats: Readonly<Record<string, PatRecord>>;
}

/**
 * A short SHA-256 of a PAT (hex): replicas compare secrets by it without sharing them; 64 bits
 * tell a changed token apart and reveal nothing of it.
 */
export function secretFingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 16);
}

/** GitHub refused the PAT at `atMs`: it leaves the pool, and so it does for peers with its secret. */
export function markRefused(credential: Credential, atMs: number): void {
  credential.bad = true;
  credential.verdictAtMs = atMs;
}

/** A reload at `atMs` names the PAT again: it is tried again, here and by peers with its secret. */
export function markTriedAgain(credential: Credential, atMs: number): void {
  credential.bad = false;
  credential.verdictAtMs = atMs;
}

/** Two replicas read GitHub's reset time off its `Date` within this of each other. */
const SAME_WINDOW_MS = 2000;

/**
 * The newer of two quota readings: the one in the later rate-limit window, else (same window)
 * the one with fewer calls left, since within a window the remaining count only falls.
 */
export function newerQuota(ours: QuotaView, theirs: QuotaView): QuotaView {
  if (theirs === undefined) return ours;
  if (ours === undefined) return { ...theirs };
  if (Math.abs(theirs.resetAtMs - ours.resetAtMs) > SAME_WINDOW_MS) {
    return theirs.resetAtMs > ours.resetAtMs ? { ...theirs } : ours;
  }
  return theirs.remaining < ours.remaining ? { ...theirs } : ours;
}

export class Standing {
  #credentials: Credential[];
  #owners: Owner[];
  #cursor = 0;

  constructor(
    sources: readonly CredentialSource[],
    private readonly paddingMs: number,
    private readonly now: () => number,
    private readonly rateLimitStatus: RateLimitStatus,
    private readonly gateLimits: GateLimits,
  ) {
    const credentials = sources.map((source) => newCredential(source, now()));
    this.#credentials = credentials;
    this.#owners = credentials.map((credential) => this.#newOwner([credential], undefined));
  }

  /** Every credential in the pool now; one that left is not here, its calls in flight finish. */
  get credentials(): readonly Credential[] {
    return this.#credentials;
  }

  get owners(): readonly Owner[] {
    return this.#owners;
  }

  /** Credentials joining a running pool (a reload, a discovered installation): each its own owner. */
  add(sources: readonly CredentialSource[]): Credential[] {
    const added = sources.map((source) => newCredential(source, this.now()));
    this.#credentials = [...this.#credentials, ...added];
    this.#owners = [
      ...this.#owners,
      ...added.map((credential) => this.#newOwner([credential], undefined)),
    ];
    return added;
  }

  /**
   * A credential that joined alone belongs to the account `login`: it joins that account's owner
   * if the pool has one (sharing its learnt quota), else its owner now names the login.
   */
  join(credential: Credential, login: string): void {
    const alone = credential.owner;
    const shared = this.#owners.find((owner) => owner.login === login && owner !== alone);
    const owner = shared ?? this.#newOwner([credential], login);
    if (shared) shared.credentials.push(credential);
    credential.owner = owner;
    this.#owners = this.#owners.flatMap((entry) =>
      entry !== alone ? [entry] : shared ? [] : [owner]
    );
  }

  /**
   * Credentials leaving (a reload that no longer names them, an installation gone): they are
   * chosen no more; calls already in flight on them finish on the objects they hold.
   */
  remove(names: ReadonlySet<string>): void {
    const leaving = (credential: Credential) => names.has(credential.source.name);
    this.#credentials = this.#credentials.filter((credential) => !leaving(credential));
    for (const owner of this.#owners) {
      owner.credentials.splice(
        0,
        owner.credentials.length,
        ...owner.credentials.filter((c) => !leaving(c)),
      );
    }
    this.#owners = this.#owners.filter((owner) => owner.credentials.length > 0);
  }

  /**
   * Groups the credentials by the logins GitHub named (a credential without one is its own
   * owner). Meant before any traffic: what was learnt of the old groups is not carried over.
   */
  group(logins: ReadonlyMap<Credential, string>): void {
    const byLogin = new Map<string, Credential[]>();
    const owners: Owner[] = [];
    for (const credential of this.credentials) {
      const login = logins.get(credential);
      if (login === undefined) {
        owners.push(this.#newOwner([credential], undefined));
        continue;
      }
      const group = byLogin.get(login);
      if (group) group.push(credential);
      else {
        const members = [credential];
        byLogin.set(login, members);
        owners.push(this.#newOwner(members, login));
      }
    }
    for (const owner of owners) {
      for (const credential of owner.credentials) credential.owner = owner;
    }
    this.#owners = owners;
  }

  quotaOf(owner: Owner, resource: string): Quota {
    let quota = owner.quotas.get(resource);
    if (!quota) {
      quota = newQuota();
      owner.quotas.set(resource, quota);
    }
    return quota;
  }

  /**
   * A credential of the owner with the most quota for `resource` now, skipping owners that are
   * parked for it or cooling down; `preferred` (a credential name) while it is healthy.
   */
  pick(
    resource: string,
    preferred: string | undefined,
    tried: ReadonlySet<Credential>,
  ): Credential | undefined {
    const at = this.now();
    const usable = (credential: Credential) =>
      this.#usable(credential, at) && !tried.has(credential);
    const candidates = this.#owners.map((owner) => ({
      name: owner.name,
      available: this.ready(owner, resource) && owner.credentials.some(usable),
      score: score(this.quotaOf(owner, resource), at, this.paddingMs),
    }));
    const preferredCredential = this.credentials.find((c) => c.source.name === preferred);
    const chosen = choose(candidates, preferredCredential?.owner.name, this.#cursor++);
    const owner = this.#owners.find((candidate) => candidate.name === chosen);
    if (!owner) return undefined;
    if (preferredCredential?.owner === owner && usable(preferredCredential)) {
      return preferredCredential;
    }
    const members = owner.credentials.filter(usable);
    return members[owner.cursor++ % members.length];
  }

  /** The owner may be sent a request for `resource` now: not cooling down, not parked. */
  ready(owner: Owner, resource: string): boolean {
    const at = this.now();
    return owner.frozenUntilMs <= at &&
      availableAtMs(this.quotaOf(owner, resource), at, this.paddingMs) <= at;
  }

  /** The pool's quota for `resource` over every owner with a usable credential, each once. */
  totals(resource: string): PoolTotals | undefined {
    const at = this.now();
    const quotas = this.#owners.filter((owner) =>
      owner.credentials.some((credential) => this.#usable(credential, at))
    ).map((owner) => this.quotaOf(owner, resource));
    return poolTotals(quotas, at, this.paddingMs);
  }

  /**
   * The pool's own answer when no owner can take the request now: a secondary-limit refusal
   * when the first owner back is cooling down, the exhausted refusal when it is parked, else
   * 503 (every credential refused or resting).
   */
  unavailable(resource: string): Response {
    const at = this.now();
    const standing = this.#owners.flatMap((owner) => {
      const healthy = owner.credentials.filter((credential) => !credential.bad);
      if (healthy.length === 0) return [];
      const quota = this.quotaOf(owner, resource);
      const limitedUntil = availableAtMs(quota, at, this.paddingMs);
      const restedAt = Math.min(...healthy.map((credential) => credential.unusableUntilMs));
      return [{
        limitedUntil,
        frozenUntil: owner.frozenUntilMs,
        readyAt: Math.max(limitedUntil, owner.frozenUntilMs, restedAt),
        limit: quota.view?.limit ?? 0,
      }];
    });
    if (standing.length === 0) return noCredentialResponse(undefined, at);
    const first = standing.reduce((a, b) => b.readyAt < a.readyAt ? b : a);
    const limit = standing.reduce((total, entry) => total + entry.limit, 0);
    if (first.frozenUntil > at && first.frozenUntil >= first.limitedUntil) {
      return secondaryLimitResponse(
        this.rateLimitStatus,
        resource,
        limit,
        first.readyAt,
        at,
        `every GitHub account of github-proxy is cooling down until ${
          new Date(Math.max(first.readyAt, at)).toISOString()
        }`,
      );
    }
    if (standing.some((entry) => entry.limitedUntil > at || entry.frozenUntil > at)) {
      return exhaustedResponse(this.rateLimitStatus, resource, limit, first.readyAt, at);
    }
    return noCredentialResponse(first.readyAt, at);
  }

  /** The pool's capacity for `resource` as refusals state it: each owner's limit once. */
  limitOf(resource: string): number {
    return this.#owners.reduce(
      (total, owner) => total + (this.quotaOf(owner, resource).view?.limit ?? 0),
      0,
    );
  }

  snapshot(tokenCacheItems: number): PoolSnapshot {
    const atMs = this.now();
    const resources = (owner: Owner) =>
      [...owner.quotas].map(([resource, quota]) => ({
        resource,
        limit: quota.view?.limit,
        remaining: quota.view && remainingNow(quota, atMs, this.paddingMs),
        resetAtMs: quota.view?.resetAtMs,
        parkedUntilMs: quota.parkedUntilMs,
        inFlight: quota.inFlight,
      }));
    return {
      atMs,
      credentials: this.credentials.map((credential) => ({
        name: credential.source.name,
        kind: credential.source.kind,
        owner: credential.owner.name,
        bad: credential.bad,
        unusableUntilMs: credential.unusableUntilMs,
        resources: resources(credential.owner),
      })),
      owners: this.#owners.map((owner): OwnerSnapshot => ({
        name: owner.name,
        credentials: owner.credentials.map((credential) => credential.source.name),
        frozenUntilMs: owner.frozenUntilMs,
        inFlight: owner.gate.inFlight,
        queued: owner.gate.queued,
        resources: resources(owner),
      })),
      tokenCache: { items: tokenCacheItems },
    };
  }

  /**
   * What this replica learnt that the others can use (DESIGN §13): per owner its cooldown and,
   * per resource, the last quota GitHub showed and the parking; each PAT's verdict.
   */
  learnt(): StandingRecord {
    const owners: Record<string, OwnerRecord> = {};
    for (const owner of this.#owners) {
      const quotas: Record<string, QuotaRecord> = {};
      for (const [resource, quota] of owner.quotas) {
        if (quota.view === undefined && quota.parkedUntilMs === 0) continue;
        quotas[resource] = { view: quota.view, parkedUntilMs: quota.parkedUntilMs };
      }
      owners[owner.name] = { frozenUntilMs: owner.frozenUntilMs, quotas };
    }
    const pats: Record<string, PatRecord> = {};
    for (const { source, bad, verdictAtMs, fingerprint } of this.credentials) {
      if (fingerprint !== undefined) {
        pats[source.name] = { secret: fingerprint, bad, atMs: verdictAtMs };
      }
    }
    return { owners, pats };
  }

  /**
   * Takes in what another replica learnt: the later of two cooldowns and parkings, the newer
   * of two quotas (`newerQuota`), and of two verdicts on a PAT the later (a refusal on a tie),
   * so a refusal learnt before this replica (re)loaded the secret does not come back, and a
   * reload elsewhere tries the secret again here. Owners and credentials this replica does not
   * know, and verdicts on another secret under the same name, are ignored, so replicas with
   * different pools (or one not yet reloaded) cannot confuse each other.
   */
  absorb(record: StandingRecord): void {
    for (const owner of this.#owners) {
      const theirs = record.owners[owner.name];
      if (!theirs) continue;
      owner.frozenUntilMs = Math.max(owner.frozenUntilMs, theirs.frozenUntilMs);
      for (const [resource, remote] of Object.entries(theirs.quotas)) {
        const quota = this.quotaOf(owner, resource);
        quota.parkedUntilMs = Math.max(quota.parkedUntilMs, remote.parkedUntilMs);
        quota.view = newerQuota(quota.view, remote.view);
      }
    }
    for (const credential of this.credentials) {
      const theirs = record.pats[credential.source.name];
      if (!isPatRecord(theirs) || theirs.secret !== credential.fingerprint) continue;
      const later = theirs.atMs > credential.verdictAtMs ||
        (theirs.atMs === credential.verdictAtMs && theirs.bad);
      if (later) [credential.bad, credential.verdictAtMs] = [theirs.bad, theirs.atMs];
    }
  }

  #newOwner(credentials: Credential[], login: string | undefined): Owner {
    const owner: Owner = {
      name: credentials[0].source.name,
      login,
      credentials,
      quotas: new Map(),
      frozenUntilMs: 0,
      gate: new OwnerGate(this.gateLimits, this.now),
      cursor: 0,
    };
    for (const credential of credentials) credential.owner = owner;
    return owner;
  }

  #usable(credential: Credential, at: number): boolean {
    return !credential.bad && credential.unusableUntilMs <= at;
  }
}

/** A credential loaded at `atMs`: a PAT's load is its first try. */
function newCredential(source: CredentialSource, atMs: number): Credential {
  const fingerprint = source.kind === "pat" ? secretFingerprint(source.token) : undefined;
  return { source, bad: false, verdictAtMs: atMs, fingerprint, unusableUntilMs: 0 } as Credential;
}

/** A peer's field is read from the shared store: its shape is checked before it is believed. */
function isPatRecord(value: unknown): value is PatRecord {
  const record = value as Partial<PatRecord> | undefined;
  return typeof record?.secret === "string" && typeof record.bad === "boolean" &&
    typeof record.atMs === "number";
}
