/**
 * The bench's yardstick for the revalidation path: a Hono app on `Deno.serve` that forwards every
 * request to `UPSTREAM_URL` with `fetch`, headers and body as they came, and streams the answer
 * back. It revalidates nothing and checks nothing, so what the gateway costs beyond it is its
 * own work. `PORT=0` picks a port, logged on stderr as `"msg":"listening"`.
 */
import { Hono } from "hono";

const upstream = Deno.env.get("UPSTREAM_URL")!;
const app = new Hono();
app.all("*", (c) => {
  const url = new URL(c.req.url);
  return fetch(upstream + url.pathname + url.search, {
    method: c.req.method,
    headers: c.req.raw.headers,
    body: c.req.raw.body,
  });
});
Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? "0"),
  onListen: ({ hostname, port }) =>
    console.error(JSON.stringify({ msg: "listening", address: `${hostname}:${port}` })),
}, app.fetch);
