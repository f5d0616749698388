/** Structured logging: one JSON object a line (or a readable line with `pretty`). */

/** How much to log: `debug` and up, `info` and up, and so on. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** `json`: one object a line, for collectors; `pretty`: a readable line, for a terminal. */
export type LogFormat = "json" | "pretty";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function createLogger(
  level: LogLevel,
  format: LogFormat,
  write: (line: string) => void = (line) => console.error(line),
): Logger {
  const threshold = LEVELS[level];
  const emit = (at: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (LEVELS[at] < threshold) return;
    const time = new Date().toISOString();
    if (format === "json") {
      write(JSON.stringify({ time, level: at, msg: message, ...fields }));
    } else {
      const rest = Object.entries(fields).map(([k, v]) =>
        `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
      );
      write([time, at.toUpperCase().padEnd(5), message, ...rest].join(" "));
    }
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

export const silentLogger: Logger = createLogger("error", "json", () => {});
