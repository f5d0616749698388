/**
 * App installation tokens across replicas (DESIGN §13): one mint per renewal period. The first
 * replica to need a new token takes a short lock (`SET NX PX`), mints, and stores the token
 * encrypted (AES-256-GCM, the key derived with HKDF-SHA-256 from the App's private key, so the
 * store never holds a usable token and only holders of the key can read it); the others wait a
 * bounded time for it, and mint their own when the store is slow or fails. Schedules are on the
 * minting replica's clock: replicas whose clocks differ by seconds renew seconds apart, within
 * a token's hour.
 */
import { Buffer } from "node:buffer";
import type { CachedToken, TokenShare } from "../credentials/app_tokens.ts";
import { sha256Hex } from "../digest.ts";
import type { GuardedStore } from "./guarded.ts";

const TOKEN_PREFIX = "github-proxy:state:app-token:";
const LOCK_PREFIX = "github-proxy:state:app-token-lock:";
/** A mint holds the lock at most this long (a crashed minter blocks no one for longer). */
const LOCK_TTL_MS = 10_000;
/** The others wait this long for the minter's token, then mint their own. */
export const TOKEN_WAIT_MS = 3_000;
const POLL_MS = 50;
const IV_BYTES = 12;
const SALT = new TextEncoder().encode("github-proxy app installation token v1");

export interface SharedTokensOptions {
  readonly replica: string;
  readonly now?: () => number;
  readonly waitMs?: number;
}

export class SharedTokens implements TokenShare {
  readonly #keys = new Map<string, Promise<CryptoKey>>();
  /** Tokens GitHub refused, per App: never taken from the store again. */
  readonly #refused = new Map<string, string>();
  readonly #now: () => number;

  constructor(private readonly store: GuardedStore, private readonly options: SharedTokensOptions) {
    this.#now = options.now ?? Date.now;
  }

  async obtain(
    key: string,
    secret: string,
    mint: () => Promise<CachedToken>,
  ): Promise<{ token: CachedToken; minted: boolean }> {
    const id = sha256Hex(key);
    const stored = await this.#stored(id, key, secret);
    if (stored) return { token: stored, minted: false };
    const locked = await this.store.write((store) =>
      store.setIfAbsent(LOCK_PREFIX + id, this.options.replica, LOCK_TTL_MS)
    );
    if (locked === false) {
      const deadline = this.#now() + (this.options.waitMs ?? TOKEN_WAIT_MS);
      while (this.#now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const theirs = await this.#stored(id, key, secret);
        if (theirs) return { token: theirs, minted: false };
        if (!this.store.health.healthy) break;
      }
    }
    const token = await mint();
    await this.#store(id, key, secret, token);
    if (locked) await this.store.write((store) => store.delete(LOCK_PREFIX + id));
    return { token, minted: true };
  }

  forget(key: string, token: string): void {
    this.#refused.set(key, token);
    const id = sha256Hex(key);
    this.store.write((store) => store.delete(TOKEN_PREFIX + id));
  }

  /** The stored token when it is readable, not refused and not due for renewal. */
  async #stored(id: string, key: string, secret: string): Promise<CachedToken | undefined> {
    const text = await this.store.read((store) => store.get(TOKEN_PREFIX + id));
    if (text === undefined) return undefined;
    const token = await this.#decrypt(text, key, secret);
    if (!token || token.token === this.#refused.get(key)) return undefined;
    return this.#now() < token.renewAtMs ? token : undefined;
  }

  async #store(id: string, key: string, secret: string, token: CachedToken): Promise<void> {
    const ttlMs = token.expiresAtMs - this.#now();
    if (ttlMs <= 0) return;
    const text = await this.#encrypt(token, key, secret);
    await this.store.write((store) => store.set(TOKEN_PREFIX + id, text, ttlMs));
  }

  async #encrypt(token: CachedToken, key: string, secret: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const plain = new TextEncoder().encode(JSON.stringify(token));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(key) },
      await this.#key(key, secret),
      plain,
    );
    return Buffer.concat([iv, new Uint8Array(sealed)]).toString("base64");
  }

  /** Undefined for anything this App's key did not seal (another key, tampering, garbage). */
  async #decrypt(text: string, key: string, secret: string): Promise<CachedToken | undefined> {
    try {
      const bytes = Buffer.from(text, "base64");
      const plain = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: bytes.subarray(0, IV_BYTES),
          additionalData: new TextEncoder().encode(key),
        },
        await this.#key(key, secret),
        bytes.subarray(IV_BYTES),
      );
      const token = JSON.parse(new TextDecoder().decode(plain));
      return typeof token?.token === "string" && typeof token?.renewAtMs === "number"
        ? token as CachedToken
        : undefined;
    } catch {
      return undefined;
    }
  }

  #key(key: string, secret: string): Promise<CryptoKey> {
    let derived = this.#keys.get(key);
    if (!derived) {
      derived = deriveTokenKey(secret, key);
      this.#keys.set(key, derived);
    }
    return derived;
  }
}

/** AES-256-GCM key from the App's private key (HKDF-SHA-256), bound to the App's cache key. */
export async function deriveTokenKey(privateKey: string, info: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(privateKey),
    "HKDF",
    false,
    ["deriveKey"],
  );
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: SALT, info: new TextEncoder().encode(info) },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}
