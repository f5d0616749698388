/**
 * Reads the process environment under a narrow `--allow-env` allowlist. Deno lists the
 * environment only with full env access, so under an allowlist the launcher names the extra
 * variables (credentials, registry template variables) on the command line: `--env=A,B`.
 */
import { CONFIG_VARIABLES } from "../config.ts";

export type Environment = Readonly<Record<string, string>>;

export const ENV_ARGUMENT = "--env=";

export function readEnvironment(args: readonly string[]): Environment {
  if (Deno.permissions.querySync({ name: "env" }).state === "granted") return Deno.env.toObject();
  const named = args.filter((arg) => arg.startsWith(ENV_ARGUMENT))
    .flatMap((arg) => arg.slice(ENV_ARGUMENT.length).split(","));
  const env: Record<string, string> = {};
  for (const name of new Set([...CONFIG_VARIABLES, ...named])) {
    if (name === "") continue;
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") continue;
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export interface VariableLookup {
  /** The value of `name`, for the registry's `{{ env.NAME }}`; undefined when unset or denied. */
  readonly get: (name: string) => string | undefined;
  /** Names asked for that this process may not read (outside its `--allow-env` allowlist). */
  denied(): string[];
}

/**
 * Looks up registry template variables: from `env`, else directly when the allowlist permits.
 * Names outside the allowlist are remembered, so start-up can say that a "missing" variable is
 * in fact one the build did not allow.
 */
export function variableLookup(env: Environment): VariableLookup {
  const denied = new Set<string>();
  return {
    get(name) {
      if (name in env) return env[name];
      if (Deno.permissions.querySync({ name: "env", variable: name }).state === "granted") {
        return Deno.env.get(name);
      }
      denied.add(name);
      return undefined;
    },
    denied: () => [...denied],
  };
}
