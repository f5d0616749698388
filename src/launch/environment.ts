/**
 * Reads the process environment once, at start-up (DESIGN §4). Every shape the launcher builds
 * (task, binary, image, unit) runs with `--allow-env`: Deno lists variables only with full env
 * read, and credential (`GITHUB_PAT_*`, `GITHUB_APP_*`) and registry template variables are
 * found when the gateway starts, not when it was built. A process started by hand under a
 * narrower allowlist reads the configuration variables it may.
 */
import { CONFIG_VARIABLES } from "../config.ts";

/** The environment as the gateway read it at start-up. */
export type Environment = Readonly<Record<string, string>>;

/** The whole environment, or the configuration variables granted under an allowlist. */
export function readEnvironment(): Environment {
  if (Deno.permissions.querySync({ name: "env" }).state === "granted") return Deno.env.toObject();
  const env: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") continue;
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
