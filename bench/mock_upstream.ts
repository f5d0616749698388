/**
 * The bench's upstream, in its own process so that nothing else shares its event loop: as fast as
 * a Deno server can answer, and GitHub-shaped where the gateway looks. `GET /user` names the
 * PAT's owner; `GET /repos/acme/widget-<n>` answers a 4.5 KB repository document with GitHub's
 * validators (the ETag is the hex SHA-256 of the `Accept` and `Authorization` values and the
 * body, DESIGN §7) and 304 when `If-None-Match` lists the tag; every answer carries
 * `x-ratelimit-*` headers with a limit that never runs out. Tags are computed once per resource
 * and request headers, so a 304 costs a map lookup. `PORT=0` picks a port; the chosen address
 * is logged on stderr as the gateway logs it (`"msg":"listening"`).
 */
import { repositoryDocument } from "../tests/support/fake_github.ts";
import { sha256Hex } from "../src/digest.ts";

const encoder = new TextEncoder();
const REPOSITORY = /^\/repos\/acme\/(widget-\d+)$/;
const LAST_MODIFIED = new Date(Date.UTC(2024, 0, 1)).toUTCString();
const RATE_LIMIT: readonly [string, string][] = [
  ["x-ratelimit-limit", "1000000000"],
  ["x-ratelimit-remaining", "999999999"],
  ["x-ratelimit-used", "1"],
  ["x-ratelimit-reset", String(Math.floor(Date.now() / 1000) + 3600)],
  ["x-ratelimit-resource", "core"],
];
const CACHING: readonly [string, string][] = [
  ["cache-control", "private, max-age=60, s-maxage=60"],
  ["vary", "Accept, Authorization, Cookie, X-GitHub-OTP"],
  ["last-modified", LAST_MODIFIED],
];

const bodies = new Map<string, Uint8Array<ArrayBuffer>>();
const tags = new Map<string, string>();

function body(origin: string, repo: string): Uint8Array<ArrayBuffer> {
  let bytes = bodies.get(repo);
  if (!bytes) {
    bytes = encoder.encode(JSON.stringify(repositoryDocument(origin, "acme", repo)));
    bodies.set(repo, bytes);
  }
  return bytes;
}

/** GitHub's tag for `repo` as these request headers ask for it (computed once per combination). */
function etag(repo: string, headers: Headers, bytes: Uint8Array): string {
  const accept = headers.get("accept");
  const authorization = headers.get("authorization");
  const key = `${repo}\n${accept}\n${authorization}`;
  let tag = tags.get(key);
  if (!tag) {
    const named = [accept, authorization].filter((v) => v !== null).map((v) => `${v}:`);
    tag = `W/"${sha256Hex(...named, bytes)}"`;
    tags.set(key, tag);
  }
  return tag;
}

function answer(request: Request): Response {
  const url = new URL(request.url);
  if (url.pathname === "/user") {
    return Response.json({ login: "bench", id: 1, type: "User" }, { headers: RATE_LIMIT });
  }
  const match = REPOSITORY.exec(url.pathname);
  if (!match) return Response.json({ message: "Not Found" }, { status: 404, headers: RATE_LIMIT });
  const bytes = body(url.origin, match[1]);
  const tag = etag(match[1], request.headers, bytes);
  const headers = [...RATE_LIMIT, ...CACHING, ["etag", tag]] as [string, string][];
  const noneMatch = request.headers.get("if-none-match");
  if (noneMatch !== null && noneMatch.split(",").some((t) => t.trim() === tag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.push(["content-type", "application/json; charset=utf-8"]);
  return new Response(bytes, { headers });
}

if (import.meta.main) {
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(Deno.env.get("PORT") ?? "0"),
    onListen: ({ hostname, port }) =>
      console.error(JSON.stringify({ msg: "listening", address: `${hostname}:${port}` })),
  }, answer);
}
