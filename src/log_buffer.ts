/**
 * Log lines batched on their way to stderr. A synchronous write per line (`console.error`) costs
 * a system call per request and stalls the event loop whenever the pipe behind stderr is full;
 * here lines are appended to a bounded buffer and written together, asynchronously, a few
 * milliseconds later. A write always carries whole lines and the next one starts only after it,
 * so lines never interleave. When the reader falls so far behind that the buffer is full, lines
 * are dropped and counted instead of blocking requests; the count is reported once room is back.
 */

/** Where the batches go: `Deno.stderr`, or a test's recorder. */
export interface LogOutput {
  write(bytes: Uint8Array): Promise<number>;
  writeSync(bytes: Uint8Array): number;
}

export interface LogBufferOptions {
  /** Characters held at most; lines beyond are dropped and counted. */
  readonly maxChars?: number;
  /** How long a line waits for others to share its write. */
  readonly flushMs?: number;
  /** The line that reports `count` dropped lines, in the logger's format. */
  readonly droppedLine?: (count: number) => string;
}

const MAX_CHARS = 1024 * 1024;
const FLUSH_MS = 10;
const encoder = new TextEncoder();

/** A bounded, batched, asynchronous line writer. */
export class LogBuffer {
  #lines: string[] = [];
  #chars = 0;
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The write in flight, if any; the next batch waits for it. */
  #writing: Promise<void> | undefined;
  readonly #maxChars: number;
  readonly #flushMs: number;
  readonly #droppedLine: (count: number) => string;

  constructor(private readonly output: LogOutput, options: LogBufferOptions = {}) {
    this.#maxChars = options.maxChars ?? MAX_CHARS;
    this.#flushMs = options.flushMs ?? FLUSH_MS;
    this.#droppedLine = options.droppedLine ?? ((count) => `${count} log lines dropped`);
  }

  /** Lines dropped so far because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues `line` (without its newline); never blocks. */
  readonly write = (line: string): void => {
    if (this.#chars + line.length + 1 > this.#maxChars) {
      this.#dropped++;
      return;
    }
    this.#append(line);
    if (this.#timer === undefined && this.#writing === undefined) {
      this.#timer = setTimeout(this.#flushSoon, this.#flushMs);
    }
  };

  #append(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length + 1;
  }

  readonly #flushSoon = (): void => {
    this.#timer = undefined;
    this.#writing ??= this.#drain();
  };

  /** Writes batch after batch until the buffer is empty. */
  async #drain(): Promise<void> {
    try {
      for (let bytes = this.#take(); bytes !== undefined; bytes = this.#take()) {
        for (let at = 0; at < bytes.length;) {
          at += await this.output.write(bytes.subarray(at));
        }
      }
    } catch {
      // stderr is gone (its reader exited): nothing is left to tell, and nobody to tell it.
      this.#lines = [];
      this.#chars = 0;
    } finally {
      this.#writing = undefined;
    }
  }

  /** The buffered lines as one batch, the report of dropped ones first; undefined when none. */
  #take(): Uint8Array | undefined {
    if (this.#dropped > 0) {
      // Ahead of the batch that empties the buffer, so the report itself is never dropped.
      this.#lines.unshift(this.#droppedLine(this.#dropped));
      this.#dropped = 0;
    }
    if (this.#lines.length === 0) return undefined;
    const text = this.#lines.join("\n") + "\n";
    this.#lines = [];
    this.#chars = 0;
    return encoder.encode(text);
  }

  /** Resolves once every line queued before the call has been written. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing || this.#lines.length > 0 || this.#dropped > 0) {
      this.#writing ??= this.#drain();
      await this.#writing;
    }
  }

  /**
   * Writes what is buffered at once, blocking: for an exit that cannot wait (the `unload`
   * event). A batch already in flight is left to finish first only by `flush`.
   */
  flushSync(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing) return;
    try {
      const bytes = this.#take();
      if (bytes === undefined) return;
      for (let at = 0; at < bytes.length;) at += this.output.writeSync(bytes.subarray(at));
    } catch {
      // As in #drain: a closed stderr has nobody to read the rest.
    }
  }
}
