/** Structured logging: one JSON object a line (or a readable line with `pretty`). */
import { LogBuffer } from "./log_buffer.ts";

/** How much to log: `debug` and up, `info` and up, and so on. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** `json`: one object a line, for collectors; `pretty`: a readable line, for a terminal. */
export type LogFormat = "json" | "pretty";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured fields of a log line, written after its message. */
export type LogFields = Record<string, unknown>;

/** Where the gateway logs; every message is a fixed text, the variable parts are fields. */
export interface Logger {
  /** Detail for debugging, such as a connection closed at its deadline. */
  debug(message: string, fields?: LogFields): void;
  /** The normal course: start-up, one line per request, reloads. */
  info(message: string, fields?: LogFields): void;
  /** Something an operator may want to act on: a refusal, a failing backend, a low quota. */
  warn(message: string, fields?: LogFields): void;
  /** Something broke: an unhandled error, a credential GitHub refused. */
  error(message: string, fields?: LogFields): void;
}

/**
 * A logger at `level` in `format`. Lines go to `write`; by default to stderr through a
 * `LogBuffer` (batched, asynchronous, bounded), which `flushLogs` empties before the process
 * exits.
 */
export function createLogger(
  level: LogLevel,
  format: LogFormat,
  write: (line: string) => void = stderrWriter(format),
): Logger {
  const threshold = LEVELS[level];
  const emit = (at: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (LEVELS[at] < threshold) return;
    write(formatLine(format, at, message, fields));
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

function formatLine(format: LogFormat, at: LogLevel, message: string, fields: LogFields): string {
  const time = new Date().toISOString();
  if (format === "json") {
    // Joined, not spread into one object: a line per request, and the fields are the bulk.
    const head = `{"time":"${time}","level":"${at}","msg":${JSON.stringify(message)}`;
    const rest = JSON.stringify(fields);
    return rest === "{}" ? `${head}}` : `${head},${rest.slice(1)}`;
  }
  const rest = Object.entries(fields).flatMap(([k, v]) =>
    v === undefined || v === null || v === "" ? [] : [`${k}=${prettyValue(v)}`]
  );
  return [time, at.toUpperCase().padEnd(5), message, ...rest].join(" ");
}

/** The stderr buffers of this process's loggers: one per format, made when first used. */
const stderrBuffers = new Map<LogFormat, LogBuffer>();

function stderrWriter(format: LogFormat): (line: string) => void {
  let buffer = stderrBuffers.get(format);
  if (buffer === undefined) {
    buffer = new LogBuffer(Deno.stderr, {
      droppedLine: (count) =>
        formatLine(format, "warn", "log lines dropped: stderr is not read fast enough", { count }),
    });
    if (stderrBuffers.size === 0) {
      // Deno.exit dispatches `unload`: what is still buffered is written before the process ends.
      globalThis.addEventListener("unload", () => {
        for (const pending of stderrBuffers.values()) pending.flushSync();
      });
    }
    stderrBuffers.set(format, buffer);
  }
  return buffer.write;
}

/** Resolves once every line logged to stderr so far has been written: call it before exiting. */
export async function flushLogs(): Promise<void> {
  await Promise.all([...stderrBuffers.values()].map((buffer) => buffer.flush()));
}

/**
 * A field's value on a `pretty` line: a plain word as it is; a string with spaces, quotes, `=`
 * or control characters quoted as JSON (one line per entry, fields still tell apart); anything
 * else as JSON.
 */
export function prettyValue(value: unknown): string {
  if (typeof value === "string") {
    // deno-lint-ignore no-control-regex
    return /^[^\s"=\x00-\x1f\x7f]+$/.test(value) ? value : JSON.stringify(value);
  }
  return JSON.stringify(value);
}

/** A logger that writes nothing below `error`, and errors nowhere: for tests and embedders. */
export const silentLogger: Logger = createLogger("error", "json", () => {});
