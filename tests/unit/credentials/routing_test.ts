/** Routing by installation as a table: path → credentials that may take it, and why. */
import assert from "node:assert/strict";
import { pathAccount, route, type RoutedCredential } from "../../../src/credentials/routing.ts";

const POOL: RoutedCredential[] = [
  { name: "BOT@acme", kind: "app", account: "acme" },
  { name: "BOT@acme-labs", kind: "app", account: "acme-labs" },
  { name: "FIXED", kind: "app" },
  { name: "MAIN", kind: "pat" },
];
const INSTALLATIONS_ONLY = POOL.slice(0, 2);

Deno.test("the account a path names, lower case", () => {
  const cases: [string, string | undefined][] = [
    ["/repos/acme/app", "acme"],
    ["/repos/ACME-Labs/x/issues", "acme-labs"],
    ["/orgs/acme-labs", "acme-labs"],
    ["/orgs/acme/actions/runners/registration-token", "acme"],
    ["/users/octocat/repos", "octocat"],
    ["/graphql", undefined],
    ["/user", undefined],
    ["/search/code", undefined],
    ["/repositories/1", undefined],
  ];
  for (const [path, account] of cases) assert.equal(pathAccount(path), account, path);
});

Deno.test("routing decisions: own installation, pool's choice, fallback, anonymous", () => {
  const cases: [string | undefined, RoutedCredential[], boolean, string, string[]][] = [
    ["acme", POOL, false, "installation", ["BOT@acme"]],
    ["acme-labs", POOL, false, "installation", ["BOT@acme-labs"]],
    [undefined, POOL, false, "any", ["BOT@acme", "BOT@acme-labs", "FIXED", "MAIN"]],
    ["other", POOL, false, "fallback", ["FIXED", "MAIN"]],
    ["other", INSTALLATIONS_ONLY, false, "anonymous", []],
    // A narrowed client gets installation tokens only: no PAT stands in.
    ["acme", POOL, true, "installation", ["BOT@acme"]],
    ["other", POOL, true, "fallback", ["FIXED"]],
    [undefined, POOL, true, "any", ["BOT@acme", "BOT@acme-labs", "FIXED"]],
    ["other", [POOL[0], POOL[3]], true, "anonymous", []],
    [undefined, [], false, "anonymous", []],
    // PATs and explicit-ID Apps only: the pool's choice, no fallback to log for every request.
    ["other", POOL.slice(2), false, "any", ["FIXED", "MAIN"]],
    ["other", POOL.slice(3), true, "anonymous", []],
  ];
  for (const [account, credentials, narrowed, kind, names] of cases) {
    const decision = route(account, credentials, narrowed);
    assert.deepEqual(
      { kind: decision.kind, names: [...decision.names] },
      { kind, names },
      `${account} ${narrowed}`,
    );
  }
});
