/**
 * Holds the current registry and swaps it atomically on reload. A request reads the registry
 * once, so it finishes under the registry it started with.
 *
 * A file written in place can be read between two writes, and a registry cut off before a
 * client's `scopes:` still parses, giving that client full access. So a file changed in place is
 * loaded only once it has stayed unchanged for the settle time; a file renamed into place (how
 * editors and configuration management replace files) is complete and loads at once; and a new
 * registry that takes `scopes` or `deny` rules away from a client waits for the settle time
 * whatever brought it, `SIGHUP` included.
 */
import type { Logger } from "../log.ts";
import type { Registry } from "./model.ts";
import { parseRegistry, RegistryError } from "./parse.ts";
import { type FileSnapshot, readSnapshot, sameFile, unchanged } from "./file_snapshot.ts";
import { widenedClients } from "./widening.ts";

export interface RegistrySource {
  readonly current: Registry;
}

/** How long a changed file must stay unchanged before it is trusted, and how to wait. */
export interface ReloadTiming {
  /** How long a file changed in place must stay unchanged before it loads. */
  readonly settleMs: number;
  /** Resolves after `ms`, or at once when `signal` aborts; tests inject one they release. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Longer than the pauses of a writer between its writes, short enough to wait for an edit. */
const DEFAULT_RELOAD_TIMING: ReloadTiming = { settleMs: 2000, sleep: abortableSleep };

export class RegistryStore implements RegistrySource {
  #current: Registry;
  /** The last content looked at (loaded or refused), so a watch event without change is no-op. */
  #seen: FileSnapshot;
  /** Serialises reloads: each one compares against the registry the previous one left. */
  #tail: Promise<unknown> = Promise.resolve();
  #changeQueued = false;

  private constructor(
    readonly path: string,
    private readonly env: (name: string) => string | undefined,
    private readonly timing: ReloadTiming,
    private readonly check: RegistryCheck,
    private readonly before: () => Promise<unknown>,
    registry: Registry,
    snapshot: FileSnapshot,
  ) {
    this.#current = registry;
    this.#seen = snapshot;
  }

  /**
   * `check`: what else is wrong with a parsed registry (e.g. a `github_token` the pool's Apps
   * cannot grant), each problem `file:line: …`; a problem refuses the file as a parse error does.
   * `before`: what every reload waits for first, e.g. a credentials reload the same `SIGHUP`
   * started, so that `check` sees the pool that signal brought.
   */
  static async load(
    path: string,
    env: (name: string) => string | undefined,
    timing: Partial<ReloadTiming> = {},
    check: RegistryCheck = () => [],
    before: () => Promise<unknown> = () => Promise.resolve(),
  ): Promise<RegistryStore> {
    const snapshot = await read(path);
    if (!snapshot.consistent) {
      throw new RegistryError(path, ["the file changed while it was read; start again"]);
    }
    const registry = checked(parseRegistry(snapshot.text, path, env), path, check);
    return new RegistryStore(
      path,
      env,
      { ...DEFAULT_RELOAD_TIMING, ...timing },
      check,
      before,
      registry,
      snapshot,
    );
  }

  get current(): Registry {
    return this.#current;
  }

  /**
   * Re-reads the file now, as `SIGHUP` asks: loaded at once if it was read completely and gives
   * no client more access, else once it has stayed unchanged for the settle time. Resolves to
   * whether a new registry was loaded; keeps the old one when the file is invalid.
   */
  reload(logger: Logger, signal: AbortSignal = new AbortController().signal): Promise<boolean> {
    return this.#serially(() => this.#reload(logger, signal, true));
  }

  /** Reloads on SIGHUP and whenever the file changes, until `signal` aborts. */
  watch(logger: Logger, signal: AbortSignal): void {
    const onHangup = () => void this.reload(logger, signal);
    Deno.addSignalListener("SIGHUP", onHangup);
    signal.addEventListener("abort", () => Deno.removeSignalListener("SIGHUP", onHangup));
    void this.#watchFile(logger, signal);
  }

  /** A change seen by the watch; changes that arrive while one waits to run share its run. */
  #changed(logger: Logger, signal: AbortSignal): void {
    if (this.#changeQueued) return;
    this.#changeQueued = true;
    void this.#serially(() => {
      this.#changeQueued = false;
      return this.#reload(logger, signal, false);
    });
  }

  #serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.catch(() => {});
    return run;
  }

  async #reload(logger: Logger, signal: AbortSignal, requested: boolean): Promise<boolean> {
    await this.before();
    let snapshot = await this.#read(logger);
    if (snapshot === undefined) return false;
    // A watch event that changed nothing readable (e.g. chmod): nothing to do. SIGHUP re-reads
    // anyway, since the template's variables may have changed.
    if (!requested && snapshot.digest === this.#seen.digest && snapshot.consistent) return false;
    let settled = false;
    const inPlace = !requested && sameFile(snapshot, this.#seen);
    if (inPlace || !snapshot.consistent) {
      logger.info("client registry is changing; loading it once unchanged for the settle time", {
        file: this.path,
        settleMs: this.timing.settleMs,
      });
      const stable = await this.#settle(snapshot, logger, signal);
      if (stable === undefined) return false;
      snapshot = stable;
      settled = true;
    }
    let registry = this.#parse(snapshot, logger);
    if (registry === undefined) return false;
    let widened = widenedClients(this.#current, registry);
    if (widened.length > 0 && !settled) {
      logger.warn(
        "client registry reload deferred: it removes scopes or deny rules; loading it once unchanged for the settle time",
        { file: this.path, clients: widened, settleMs: this.timing.settleMs },
      );
      const stable = await this.#settle(snapshot, logger, signal);
      if (stable === undefined) return false;
      if (!unchanged(stable, snapshot)) {
        logger.warn(
          "client registry reload refused: the file changed before the removal of scopes or deny rules was stable",
          { file: this.path, clients: widened },
        );
        registry = this.#parse(stable, logger);
        if (registry === undefined) return false;
        widened = widenedClients(this.#current, registry);
      }
      snapshot = stable;
    }
    this.#current = registry;
    this.#seen = snapshot;
    const fields = { file: this.path, clients: registry.clients.length };
    if (widened.length > 0) {
      logger.warn("client registry reloaded; scopes or deny rules removed", {
        ...fields,
        widened,
      });
    } else {
      logger.info("client registry reloaded", fields);
    }
    for (const warning of registry.warnings) logger.warn("client registry warning", { warning });
    return true;
  }

  /**
   * Waits until one settle time passes with the file unchanged; resolves to that last read, or
   * undefined when the watch stops or the file cannot be read. Each new change waits again.
   */
  async #settle(
    from: FileSnapshot,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<FileSnapshot | undefined> {
    let previous = from;
    for (;;) {
      await this.timing.sleep(this.timing.settleMs, signal);
      if (signal.aborted) return undefined;
      const next = await this.#read(logger);
      if (next === undefined) return undefined;
      if (unchanged(previous, next)) return next;
      previous = next;
    }
  }

  #parse(snapshot: FileSnapshot, logger: Logger): Registry | undefined {
    this.#seen = snapshot;
    try {
      return checked(parseRegistry(snapshot.text, this.path, this.env), this.path, this.check);
    } catch (error) {
      const problems = error instanceof RegistryError ? error.problems : [(error as Error).message];
      logger.error("client registry reload failed; keeping the previous one", {
        file: this.path,
        problems,
      });
      return undefined;
    }
  }

  async #read(logger: Logger): Promise<FileSnapshot | undefined> {
    try {
      return await read(this.path);
    } catch (error) {
      logger.error("client registry reload failed; keeping the previous one", {
        file: this.path,
        problems: (error as RegistryError).problems,
      });
      return undefined;
    }
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
          await abortableSleep(200, signal);
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
      if (changed) this.#changed(logger, signal);
      for await (const _event of watcher) break;
      signal.removeEventListener("abort", close);
      if (signal.aborted) return;
      changed = true;
    }
  }
}

/** Problems with a parsed registry that the file alone cannot show, `file:line: …` each. */
export type RegistryCheck = (registry: Registry) => readonly string[];

function checked(registry: Registry, path: string, check: RegistryCheck): Registry {
  const problems = check(registry);
  if (problems.length > 0) throw new RegistryError(path, problems);
  return registry;
}

async function read(path: string): Promise<FileSnapshot> {
  try {
    return await readSnapshot(path);
  } catch (error) {
    throw new RegistryError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
