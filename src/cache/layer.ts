/**
 * The cache stage for GET and HEAD (DESIGN §7), a middleware before the forwarder: look the
 * request up, serve it locally when the client opted into freshness, the entry is young enough
 * and no webhook event marked it stale since, else revalidate upstream with validators that
 * survive credential rotation (shared among identical concurrent requests), and store what may
 * be stored. Requests the cache must stay out of go on to the forwarder. A key with no entry
 * and no call in flight needs a new upstream call, which admit may refuse; revalidations and
 * joined calls are never refused.
 */
import type { MiddlewareHandler } from "hono";
import type { AdmitVariables } from "../admit/admit.ts";
import {
  narrowingKey,
  NO_CREDENTIAL,
  upstreamFailure,
  type UpstreamRequest,
  type UpstreamVariables,
} from "../http/upstream.ts";
import type { IdentifyVariables } from "../identify/identify.ts";
import type { Logger } from "../log.ts";
import { clientLinks, type GitHubUrls, type Outgoing, outgoing } from "../outgoing.ts";
import type { GuardedBackend } from "./backends/guard.ts";
import type { CacheEntry } from "./entry.ts";
import {
  bypassReason,
  type CacheEvent,
  cacheKey,
  DEFAULT_ACCEPT,
  freshnessLimit,
} from "./policy.ts";
import type { Revalidator } from "./revalidate.ts";
import type { StaleMarks } from "../webhooks/stale_marks.ts";
import { serveAnswer, serveEntry, type ServeView } from "./serve.ts";

/** What the cache did, set whenever it answered: its `Cache-Status` and metric label. */
export type CacheVariables = {
  cacheEvent: CacheEvent;
};

/** Client validators: answered by the gateway from its entry, never sent upstream. */
const CLIENT_CONDITIONALS = [
  "if-none-match",
  "if-modified-since",
  "if-match",
  "if-unmodified-since",
  "if-range",
  "cache-control",
];

export interface CacheLayerDeps {
  readonly backend: GuardedBackend;
  /** The upstream side: calls through the transport, coalesced, and the writes they cause. */
  readonly revalidator: Revalidator;
  /** GitHub's URLs: the API base is part of every key and what `Link`/`Location` rewriting replaces. */
  readonly urls: GitHubUrls;
  /** `REWRITE_BODY_URLS`: API URLs in JSON bodies point at the gateway. */
  readonly rewriteBodies: boolean;
  readonly ttlSeconds: number;
  readonly logger: Logger;
  /**
   * Resources webhook events made stale (DESIGN §12): an entry they cover is revalidated even
   * when the client's freshness would serve it.
   */
  readonly staleMarks: StaleMarks;
  readonly now?: () => number;
}

/**
 * Answers what the cache can; calls `next` (the forwarder) for requests it must stay out of:
 * other methods, uncacheable requests, and HEAD on a cold key (HEAD answers are never stored).
 */
export function cacheLayer(deps: CacheLayerDeps): MiddlewareHandler<
  { Variables: IdentifyVariables & AdmitVariables & CacheVariables & UpstreamVariables }
> {
  const { backend, revalidator, urls, rewriteBodies, ttlSeconds, logger, staleMarks } = deps;
  const now = deps.now ?? Date.now;
  return async (c, next) => {
    const target = c.get("target");
    const { method } = target;
    const clientHeaders = c.req.raw.headers;
    // Uploads are not API reads: the uploads host's answers are not the cache's to keep.
    const cacheable = (method === "GET" || method === "HEAD") && !target.upload;
    if (!cacheable || bypassReason(clientHeaders) !== undefined) {
      return await next();
    }
    const accept = clientHeaders.get("accept") ?? DEFAULT_ACCEPT;
    const apiVersion = clientHeaders.get("x-github-api-version");
    const key = cacheKey({
      apiUrl: urls.githubApiUrl,
      path: target.path,
      query: target.query,
      accept,
      apiVersion,
    });
    const client = c.get("client");
    const limit = freshnessLimit(clientHeaders.get("cache-control"), client.maxAgeSeconds);
    const lookup = await backend.get(key, limit * 1000);
    const entry = lookup.ok ? lookup.entry : undefined;
    const view: ServeView = {
      method,
      clientHeaders,
      links: clientLinks(urls, c.var),
      rewriteBodies,
    };
    // GitHub enforces a narrowing only when asked: an entry another credential validated is
    // revalidated with the client's narrowed token (a 304, or GitHub's 404), never served as is.
    const sameNarrowing = client.githubToken === undefined ||
      entry?.narrowing === narrowingKey(client.githubToken);
    let marked = false;
    if (entry && sameNarrowing) {
      const ageMs = now() - entry.validatedAt;
      // Asked only of an entry young enough to serve: the others are revalidated anyway.
      marked = ageMs < limit * 1000 && await staleMarks.isStale(target.path, entry.validatedAt);
      if (ageMs < limit * 1000 && !marked) {
        const ttlMs = entry.validatedAt + ttlSeconds * 1000 - now();
        const event = { kind: "hit", ttlSeconds: Math.floor(ttlMs / 1000) } as const;
        c.set("cacheEvent", event);
        return serveEntry(entry, undefined, event, view, Math.floor(ageMs / 1000));
      }
    }
    if (!entry && !revalidator.has(key, client.githubToken)) {
      if (method === "HEAD") return await next();
      const refused = c.get("admission").newCall();
      if (refused) return refused;
    }
    try {
      const { outcome, collapsed, stream } = await revalidator.revalidate(
        key,
        entry,
        lookup.ok,
        conditional(outgoing(c.req.raw, c.var, urls), entry, accept, apiVersion),
        marked,
        () => c.req.raw.signal,
      );
      if (!collapsed && outcome.upstream.credential !== NO_CREDENTIAL) {
        c.set("upstream", outcome.upstream);
      }
      const event: CacheEvent = { ...outcome.event, collapsed };
      c.set("cacheEvent", event);
      if (outcome.kind === "entry") {
        const latest = { headers: outcome.latest, rateLimit: outcome.rateLimit };
        return serveEntry(outcome.entry, latest, event, view);
      }
      const body = outcome.kind === "response" ? outcome.body : stream ?? null;
      return serveAnswer(outcome.response, body, event, view, outcome.rateLimit);
    } catch (error) {
      return upstreamFailure(error, c.req.raw.signal, logger, target.path);
    }
  };
}

/**
 * The cache's GET for a key: the client's validators removed (the gateway answers them), the
 * keyed headers sent as the key has them (what is stored is what was asked), and the entry's
 * credential and validators when there is one to revalidate.
 */
function conditional(
  request: Outgoing,
  entry: CacheEntry | undefined,
  accept: string,
  apiVersion: string | null,
): UpstreamRequest {
  // `outgoing` made these headers for this request alone: changed in place, not copied again.
  const { headers } = request;
  for (const name of CLIENT_CONDITIONALS) headers.delete(name);
  headers.set("accept", accept);
  if (apiVersion === null) headers.delete("x-github-api-version");
  else headers.set("x-github-api-version", apiVersion);
  return {
    ...request,
    method: "GET",
    headers,
    body: null,
    replayable: true,
    preferredCredential: entry?.credential,
    revalidate: entry &&
      { etag: entry.etag, lastModified: entry.lastModified, body: entry.body },
  };
}
