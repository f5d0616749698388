/**
 * Webhook delivery ids and body digests across replicas (DESIGN §12, §13): GitHub may redeliver
 * to any replica behind the load balancer, so the first replica to see a key claims it in the shared store
 * (`SET NX PX` for the dedupe window) and the others then answer "duplicate". Each replica also
 * keeps its own log, which answers a redelivery to itself without a round trip and decides
 * alone while the store fails: a redelivery to another replica during an outage is worked
 * twice, never lost.
 */
import {
  DEDUPE_WINDOW_MS,
  type DeliveryLog,
  LocalDeliveryLog,
  type LocalDeliveryLogOptions,
} from "../webhooks/deliveries.ts";
import type { GuardedStore } from "./guarded.ts";

const PREFIX = "github-proxy:state:delivery:";

export class SharedDeliveryLog implements DeliveryLog {
  readonly #local: LocalDeliveryLog;
  readonly #windowMs: number;

  /** `replica` is stored as the claim's value, for whoever inspects the store. */
  constructor(
    private readonly store: GuardedStore,
    private readonly replica: string,
    options: LocalDeliveryLogOptions = {},
  ) {
    this.#local = new LocalDeliveryLog(options);
    this.#windowMs = options.windowMs ?? DEDUPE_WINDOW_MS;
  }

  async firstSeen(key: string): Promise<boolean> {
    if (!this.#local.firstSeen(key)) return false;
    const claimed = await this.store.write((store) =>
      store.setIfAbsent(PREFIX + key, this.replica, this.#windowMs)
    );
    return claimed !== false;
  }
}
