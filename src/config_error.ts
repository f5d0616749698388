/**
 * The start-up error, on the ground floor: `config.ts` throws it for the environment, the cache
 * backends for their URLs and the launcher for its permissions, and none of them imports another
 * for it.
 */
import { redactUserinfo } from "./redact.ts";

/** Start-up problems, every one at once; a URL quoted in one never shows its userinfo. */
export class ConfigError extends Error {
  /** One line a problem, naming the variable, never its secret value. */
  readonly problems: readonly string[];

  /** `problems`: one line each; their URLs lose their userinfo here. */
  constructor(problems: readonly string[]) {
    const redacted = problems.map(redactUserinfo);
    super(`invalid configuration:\n${redacted.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = redacted;
  }
}
