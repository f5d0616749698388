/**
 * GitHub App installation tokens (DESIGN §8): minted with `@octokit/auth-app` against the
 * configured API base (so GitHub Enterprise Server works), cached per (app id, installation id,
 * API base URL, SHA-256 of the key), renewed at 80 % of their lifetime before they are handed
 * out, never handed out expired; concurrent renewals share one mint.
 */
import { createPrivateKey } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import { request } from "@octokit/request";
import type { AppSource } from "./sources.ts";
import { narrowingKey, type TokenNarrowing } from "../http/upstream.ts";
import { sha256Hex } from "../digest.ts";
import { safeErrorSummary } from "../http/errors.ts";
import { USER_AGENT } from "../http/headers.ts";

/** What the App installation token cache did: a hit, a miss, a mint, or an eviction and why. */
export type TokenCacheEvent =
  | { readonly type: "hit" | "miss"; readonly credential: string }
  | {
    readonly type: "mint";
    readonly credential: string;
    readonly outcome: "success" | "failure";
    /** Minted with a client's `github_token:` narrowing. */
    readonly narrowed: boolean;
  }
  | {
    readonly type: "eviction";
    readonly credential: string;
    readonly reason: "renewed" | "rejected" | "capacity";
  };

/**
 * Installation tokens shared with other replicas (DESIGN §13, `src/state/app_tokens.ts`): one
 * mint per renewal across them.
 */
export interface TokenShare {
  /**
   * A token for the App under `key`: one another replica stored when it is not due for renewal,
   * else `mint`'s; `minted` tells whether this replica minted it. `secret` (the App's private
   * key) is what the stored token is encrypted with.
   */
  obtain(
    key: string,
    secret: string,
    mint: () => Promise<CachedToken>,
  ): Promise<{ readonly token: CachedToken; readonly minted: boolean }>;
  /** GitHub refused `token`: no replica is to be handed it again. */
  forget(key: string, token: string): void;
}

export interface AppTokensOptions {
  readonly apiUrl: string;
  /** Shares tokens with other replicas; without it this replica mints its own. */
  readonly shared?: TokenShare;
  /** Most tokens kept; the least recently used goes first. */
  readonly maxSize: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly onEvent?: (event: TokenCacheEvent) => void;
}

export interface AppTokens {
  /**
   * An installation token for the App that is not due for renewal; mints when needed. With a
   * `narrowing`, one minted for exactly its repositories and permissions, cached apart.
   */
  token(source: AppSource, narrowing?: TokenNarrowing): Promise<string>;
  /** GitHub refused `token`: forget it, so the next `token` call mints a new one. */
  reject(source: AppSource, token: string, narrowing?: TokenNarrowing): void;
  /** Drops every token of `source` (its key changed or it left the pool). */
  forget(source: AppSource): void;
  /** The tokens cached for `source` now, by narrowing and expiry: never the tokens themselves. */
  cached(source: AppSource): readonly CachedTokenView[];
  /** Tokens currently cached. */
  readonly size: number;
}

/** A cached installation token as `/status` shows it. */
export interface CachedTokenView {
  /** The client's `github_token:` it was minted with; undefined: the installation's full access. */
  readonly narrowing?: TokenNarrowing;
  /** When GitHub expires it, epoch ms on the gateway's clock. */
  readonly expiresAtMs: number;
}

/** Thrown when no usable token could be obtained; names the credential, never a secret. */
export class MintError extends Error {
  constructor(
    readonly credential: string,
    readonly detail: string,
    /**
     * GitHub's message when it refused a narrowed mint (422: the installation cannot grant a
     * permission or repository asked for). The client's narrowing is at fault, not the App.
     */
    readonly narrowingRefused?: string,
  ) {
    super(`could not mint an installation token for GitHub App ${credential}: ${detail}`);
    this.name = "MintError";
  }
}

/** Longest part of GitHub's message a refusal repeats. */
const MESSAGE_CHARS = 200;

/** GitHub's `message` when `error` is its 422 (`@octokit/request`'s `RequestError`). */
function unprocessableMessage(error: unknown): string | undefined {
  const failure = error as { status?: unknown; response?: { data?: { message?: unknown } } };
  if (failure?.status !== 422) return undefined;
  const message = failure.response?.data?.message;
  return typeof message === "string" ? message.slice(0, MESSAGE_CHARS) : "Validation Failed";
}

/** A minted token and its schedule on the gateway's clock. */
export interface CachedToken {
  readonly credential: string;
  readonly token: string;
  readonly narrowing: TokenNarrowing | undefined;
  readonly renewAtMs: number;
  readonly expiresAtMs: number;
}

/**
 * When to renew and when the token expires, on the gateway's clock. GitHub's `Date` (whole
 * seconds, so GitHub's clock may be up to 1 s ahead of it) anchors `expires_at`; the lifetime is
 * counted from when the mint was sent, so both moments err early.
 */
export function tokenSchedule(
  mint: { sentAtMs: number; date: string | null; expiresAt: string },
): { renewAtMs: number; expiresAtMs: number } {
  const date = mint.date === null ? NaN : Date.parse(mint.date);
  const githubNow = Number.isFinite(date) ? date + 1000 : mint.sentAtMs;
  const lifetime = Math.max(0, Date.parse(mint.expiresAt) - githubNow);
  return { renewAtMs: mint.sentAtMs + 0.8 * lifetime, expiresAtMs: mint.sentAtMs + lifetime };
}

/** `@octokit/auth-app` signs with WebCrypto, which reads PKCS#8 only: convert PKCS#1 keys. */
export function pkcs8(privateKeyPem: string): string {
  return createPrivateKey(privateKeyPem).export({ type: "pkcs8", format: "pem" }).toString();
}

function cacheKey(source: AppSource, apiUrl: string): string {
  return [source.appId, source.installationId, apiUrl, sha256Hex(source.privateKey)].join("\n");
}

interface Minter {
  readonly key: string;
  mint(narrowing: TokenNarrowing | undefined): Promise<CachedToken>;
}

/** Renewal is decided here; auth-app must keep no second copy of the tokens (empty = none). */
const noCache = { get: () => "", set: () => {} };

export function createAppTokens(options: AppTokensOptions): AppTokens {
  const now = options.now ?? Date.now;
  const emit = options.onEvent ?? (() => {});
  const cache = new Map<string, CachedToken>();
  const pending = new Map<string, Promise<CachedToken>>();
  const minters = new Map<AppSource, Minter>();

  const minterFor = (source: AppSource): Minter => {
    let minter = minters.get(source);
    if (minter) return minter;
    let lastDate: string | null = null;
    const baseFetch = options.fetch ?? fetch;
    const auth = createAppAuth({
      appId: source.appId,
      installationId: source.installationId,
      privateKey: pkcs8(source.privateKey),
      cache: noCache,
      request: request.defaults({
        baseUrl: options.apiUrl,
        headers: { "user-agent": USER_AGENT },
        request: {
          fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
            const response = await baseFetch(input, init);
            lastDate = response.headers.get("date");
            return response;
          },
        },
      }),
    });
    minter = {
      key: cacheKey(source, options.apiUrl),
      async mint(narrowing) {
        const sentAtMs = now();
        const minted = await auth({
          type: "installation",
          refresh: true,
          ...(narrowing?.repositories ? { repositoryNames: [...narrowing.repositories] } : {}),
          ...(narrowing?.permissions ? { permissions: { ...narrowing.permissions } } : {}),
        });
        const schedule = tokenSchedule({ sentAtMs, date: lastDate, expiresAt: minted.expiresAt });
        return { credential: source.name, token: minted.token, narrowing, ...schedule };
      },
    };
    minters.set(source, minter);
    return minter;
  };

  const store = (key: string, entry: CachedToken) => {
    const old = cache.get(key);
    if (old && cache.delete(key)) {
      emit({ type: "eviction", credential: old.credential, reason: "renewed" });
    }
    cache.set(key, entry);
    for (const [oldestKey, oldest] of cache) {
      if (cache.size <= options.maxSize) break;
      cache.delete(oldestKey);
      emit({ type: "eviction", credential: oldest.credential, reason: "capacity" });
    }
  };

  const mintShared = (
    source: AppSource,
    minter: Minter,
    key: string,
    narrowing: TokenNarrowing | undefined,
  ): Promise<CachedToken> => {
    let shared = pending.get(key);
    if (!shared) {
      const narrowed = narrowing !== undefined;
      const obtained = options.shared
        ? options.shared.obtain(key, source.privateKey, () => minter.mint(narrowing))
        : minter.mint(narrowing).then((token) => ({ token, minted: true }));
      shared = obtained.then(
        ({ token: entry, minted }) => {
          if (minted) {
            emit({ type: "mint", credential: source.name, outcome: "success", narrowed });
          }
          store(key, entry);
          return entry;
        },
        (error) => {
          emit({ type: "mint", credential: source.name, outcome: "failure", narrowed });
          const refused = narrowed ? unprocessableMessage(error) : undefined;
          throw new MintError(source.name, safeErrorSummary(error), refused);
        },
      ).finally(() => pending.delete(key));
      pending.set(key, shared);
    }
    return shared;
  };

  const keyOf = (source: AppSource, narrowing: TokenNarrowing | undefined) =>
    `${minterFor(source).key}\n${narrowingKey(narrowing)}`;

  return {
    async token(source, narrowing) {
      const minter = minterFor(source);
      const key = keyOf(source, narrowing);
      const cached = cache.get(key);
      if (cached && now() < cached.renewAtMs) {
        cache.delete(key);
        cache.set(key, cached);
        emit({ type: "hit", credential: source.name });
        return cached.token;
      }
      emit({ type: "miss", credential: source.name });
      try {
        return (await mintShared(source, minter, key, narrowing)).token;
      } catch (error) {
        // A token past its renewal point is still good for a while: ride out a failed mint
        // on it until 90 % of its lifetime, never longer.
        const stillCached = cached !== undefined && cache.get(key) === cached;
        if (stillCached && now() < (cached.renewAtMs + cached.expiresAtMs) / 2) {
          return cached.token;
        }
        throw error;
      }
    },
    reject(source, token, narrowing) {
      const key = keyOf(source, narrowing);
      options.shared?.forget(key, token);
      if (cache.get(key)?.token !== token) return;
      cache.delete(key);
      emit({ type: "eviction", credential: source.name, reason: "rejected" });
    },
    forget(source) {
      const prefix = `${minterFor(source).key}\n`;
      for (const key of [...cache.keys()]) {
        if (!key.startsWith(prefix)) continue;
        cache.delete(key);
        emit({ type: "eviction", credential: source.name, reason: "rejected" });
      }
      minters.delete(source);
    },
    cached(source) {
      const prefix = `${cacheKey(source, options.apiUrl)}\n`;
      return [...cache].filter(([key]) => key.startsWith(prefix)).map(([, entry]) => ({
        ...(entry.narrowing ? { narrowing: entry.narrowing } : {}),
        expiresAtMs: entry.expiresAtMs,
      }));
    },
    get size() {
      return cache.size;
    },
  };
}
