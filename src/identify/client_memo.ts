/**
 * Clients by the raw `Authorization` value (DESIGN §10: digests computed once per token): a
 * warm request finds its client with one map lookup instead of parsing the header, hashing the
 * token and comparing digests with every client. The memo belongs to one registry: a reload
 * swaps the registry object, and the first lookup against the new one starts empty, so a
 * removed token stops working at once. Only tokens that name a client are kept (unknown ones
 * are looked up every time, so they cannot push known ones out), at most `capacity` of them,
 * the oldest dropped first.
 */
import type { Client, Registry } from "../registry/model.ts";
import { clientTokenOf } from "./client_token.ts";

/** Enough for every token of a large registry, each in a few spellings (`token`, `Bearer`). */
export const CLIENT_MEMO_CAPACITY = 1024;

export class ClientMemo {
  #registry: Registry | undefined;
  readonly #clients = new Map<string, Client>();

  constructor(
    /** The lookup for a header not remembered: `findClient` in identify. */
    private readonly find: (registry: Registry, token: string) => Client | undefined,
    readonly capacity: number = CLIENT_MEMO_CAPACITY,
  ) {}

  /** Remembered headers (for tests and the bench). */
  get size(): number {
    return this.#clients.size;
  }

  /** The client `authorization` names in `registry`, or undefined. */
  client(registry: Registry, authorization: string | undefined): Client | undefined {
    if (authorization === undefined) return undefined;
    if (registry !== this.#registry) {
      this.#clients.clear();
      this.#registry = registry;
    }
    const known = this.#clients.get(authorization);
    if (known) return known;
    const token = clientTokenOf(authorization);
    const client = token === undefined ? undefined : this.find(registry, token);
    if (!client) return undefined;
    if (this.#clients.size >= this.capacity) {
      this.#clients.delete(this.#clients.keys().next().value!);
    }
    this.#clients.set(authorization, client);
    return client;
  }
}
