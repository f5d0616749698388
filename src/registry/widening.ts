/**
 * Which clients a new registry gives more access than the current one in a way a half-written
 * file can: truncating a file drops a client's `scopes` (full access) or the end of its `deny`.
 */
import type { Registry } from "./model.ts";

/** Names of clients present in both registries that lose their `scopes` or any `deny` rule. */
export function widenedClients(previous: Registry, next: Registry): string[] {
  const before = new Map(previous.clients.map((client) => [client.name, client]));
  return next.clients.filter((client) => {
    const old = before.get(client.name);
    if (old === undefined) return false;
    if (old.scopes !== null && client.scopes === null) return true;
    const kept = new Set(client.deny.map((rule) => rule.source));
    return old.deny.some((rule) => !kept.has(rule.source));
  }).map((client) => client.name);
}
