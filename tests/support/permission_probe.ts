/**
 * Run with the gateway's own permission flags: reports what this process may and may not do,
 * and loads the libraries the gateway uses (some read environment variables when loaded).
 *
 *   deno run <flags> permission_probe.ts '{"fetch":[…],"read":[…],"write":[…],"env":[…],"listen":[…]}'
 */
import { parse as parseYaml } from "yaml";
import { parse as parseGraphql } from "graphql";
import { Redis } from "@upstash/redis";

export interface ProbePlan {
  fetch?: string[];
  read?: string[];
  write?: string[];
  env?: string[];
  listen?: string[];
  run?: string[];
}

export type Outcome = "allowed" | "denied" | `failed: ${string}`;

async function attempt(action: () => Promise<unknown> | unknown): Promise<Outcome> {
  try {
    await action();
    return "allowed";
  } catch (error) {
    return error instanceof Deno.errors.NotCapable ? "denied" : `failed: ${String(error)}`;
  }
}

async function probe(plan: ProbePlan): Promise<Record<string, Outcome>> {
  const results: Record<string, Outcome> = {};
  results["library yaml"] = await attempt(() => parseYaml("a: 1"));
  results["library graphql"] = await attempt(() => parseGraphql("query { viewer { login } }"));
  results["library @upstash/redis"] = await attempt(() =>
    new Redis({ url: "http://127.0.0.1:9", token: "t" })
  );
  for (const url of plan.fetch ?? []) {
    results[`fetch ${url}`] = await attempt(async () => await (await fetch(url)).body?.cancel());
  }
  for (const path of plan.read ?? []) {
    results[`read ${path}`] = await attempt(() => Deno.statSync(path));
  }
  for (const path of plan.write ?? []) {
    results[`write ${path}`] = await attempt(() => Deno.writeTextFileSync(path, "probe"));
  }
  for (const name of plan.env ?? []) {
    results[`env ${name}`] = await attempt(() => Deno.env.get(name));
  }
  for (const address of plan.listen ?? []) {
    const [hostname, port] = address.split(":");
    results[`listen ${address}`] = await attempt(() =>
      Deno.listen({ hostname, port: Number(port) }).close()
    );
  }
  for (const program of plan.run ?? []) {
    results[`run ${program}`] = await attempt(() => new Deno.Command(program).outputSync());
  }
  return results;
}

if (import.meta.main) console.log(JSON.stringify(await probe(JSON.parse(Deno.args[0]))));
