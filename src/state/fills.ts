/**
 * First fetches across replicas (DESIGN §13): the replica that meets a cold key first takes a
 * short lock on it (`SET NX PX`) and fetches it; the others see the lock, wait (bounded) for
 * the entry it stores in the shared cache and answer from it, so a fleet pays for a cold key
 * once, as one replica does. A store that fails grants the lock: every replica fetches alone.
 */
import type { FillCoordinator } from "../cache/revalidate.ts";
import type { GuardedStore } from "./guarded.ts";

const PREFIX = "github-proxy:state:fill:";

export class SharedFills implements FillCoordinator {
  /**
   * `lockMs` bounds how long a replica that died mid-fetch holds others back (they stop
   * waiting sooner anyway).
   */
  constructor(
    private readonly store: GuardedStore,
    private readonly replica: string,
    private readonly lockMs: number,
  ) {}

  async claim(key: string): Promise<boolean> {
    const claimed = await this.store.write((store) =>
      store.setIfAbsent(PREFIX + key, this.replica, this.lockMs)
    );
    return claimed !== false;
  }

  release(key: string): void {
    this.store.write((store) => store.delete(PREFIX + key));
  }
}
