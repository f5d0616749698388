/**
 * Holds the current registry and swaps it atomically on reload. A request reads the registry
 * once, so it finishes under the registry it started with.
 */
import type { Logger } from "../telemetry/log.ts";
import { parseRegistry, type Registry, RegistryError } from "./registry.ts";

export interface RegistrySource {
  readonly current: Registry;
}

export class RegistryStore implements RegistrySource {
  #current: Registry;

  private constructor(
    readonly path: string,
    private readonly env: (name: string) => string | undefined,
    registry: Registry,
  ) {
    this.#current = registry;
  }

  static async load(
    path: string,
    env: (name: string) => string | undefined,
  ): Promise<RegistryStore> {
    return new RegistryStore(path, env, await readRegistry(path, env));
  }

  get current(): Registry {
    return this.#current;
  }

  /** Replaces the registry with the file's current content; keeps the old one if it is invalid. */
  async reload(logger: Logger): Promise<boolean> {
    try {
      this.#current = await readRegistry(this.path, this.env);
      logger.info("client registry reloaded", {
        file: this.path,
        clients: this.#current.clients.length,
      });
      return true;
    } catch (error) {
      const problems = error instanceof RegistryError ? error.problems : [(error as Error).message];
      logger.error("client registry reload failed; keeping the previous one", {
        file: this.path,
        problems,
      });
      return false;
    }
  }

  /** Reloads on SIGHUP and whenever the file changes, until `signal` aborts. */
  watch(logger: Logger, signal: AbortSignal): void {
    const onHangup = () => void this.reload(logger);
    Deno.addSignalListener("SIGHUP", onHangup);
    signal.addEventListener("abort", () => Deno.removeSignalListener("SIGHUP", onHangup));
    void this.#watchFile(logger, signal);
  }

  /**
   * Watches the file itself (read access to its directory is not granted). Editors replace files
   * by rename, which ends a watch on the old inode, so the watch is renewed after every change.
   */
  async #watchFile(logger: Logger, signal: AbortSignal): Promise<void> {
    let changed = false;
    while (!signal.aborted) {
      let watcher: Deno.FsWatcher;
      try {
        watcher = Deno.watchFs(this.path, { recursive: false });
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          // Mid-replacement: the new file is about to appear.
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        logger.warn("cannot watch the client registry; reload with SIGHUP", {
          file: this.path,
          error: (error as Error).message,
        });
        return;
      }
      const close = () => watcher.close();
      signal.addEventListener("abort", close, { once: true });
      // Read only once the new watch is in place, so a write in between is not missed.
      if (changed) await this.reload(logger);
      for await (const _event of watcher) break;
      signal.removeEventListener("abort", close);
      if (signal.aborted) return;
      // Let the writer finish before reading.
      await new Promise((resolve) => setTimeout(resolve, 100));
      changed = true;
    }
  }
}

async function readRegistry(
  path: string,
  env: (name: string) => string | undefined,
): Promise<Registry> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new RegistryError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  return parseRegistry(text, path, env);
}
