/**
 * A small Upstash-REST-compatible server in front of a real Redis, speaking what
 * `@upstash/redis` sends: `POST /` with one command as a JSON array, `POST /pipeline` and
 * `POST /multi-exec` with a JSON array of commands, a Bearer token, and base64-encoded string
 * results when the client asks with `Upstash-Encoding: base64`.
 */
import { Buffer } from "node:buffer";
import { RedisError, type Reply, RespClient } from "./redis.ts";

type Result = { result: unknown } | { error: string };

export class UpstashServer implements AsyncDisposable {
  readonly url: string;
  /** Commands received, upper-cased names first, for assertions. */
  readonly commands: string[][] = [];

  private constructor(
    private readonly server: Deno.HttpServer<Deno.NetAddr>,
    private readonly redis: RespClient,
  ) {
    this.url = `http://127.0.0.1:${server.addr.port}`;
  }

  /** `port` 0 picks a free one; a given port brings a stopped server back where clients expect it. */
  static async start(redisPort: number, token: string, port = 0): Promise<UpstashServer> {
    const redis = await RespClient.connect(redisPort);
    let self: UpstashServer | undefined = undefined;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen() {} },
      (request) => self!.#handle(request, token),
    );
    self = new UpstashServer(server, redis);
    return self;
  }

  /** `upstash+http://host:port`, the gateway's CACHE_BACKEND_URL for this server. */
  get backendUrl(): string {
    return `upstash+${this.url}`;
  }

  async close(): Promise<void> {
    await this.server.shutdown();
    this.redis.close();
    await this.redis.closed();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(request: Request, token: string): Promise<Response> {
    if (request.method !== "POST") {
      return Response.json({ error: "method not allowed" }, { status: 405 });
    }
    if (request.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    const base64 = request.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return Response.json({ error: "ERR failed to parse request body" }, { status: 400 });
    }
    const path = new URL(request.url).pathname;
    if (path === "/") {
      if (!isCommand(body)) return Response.json({ error: "ERR not a command" }, { status: 400 });
      const [reply] = await this.#send([body]);
      const result = toResult(reply, base64);
      return Response.json(result, { status: "error" in result ? 400 : 200 });
    }
    if (!Array.isArray(body) || !body.every(isCommand) || body.length === 0) {
      return Response.json({ error: "ERR expected an array of commands" }, { status: 400 });
    }
    if (path === "/pipeline") {
      const replies = await this.#send(body);
      return Response.json(replies.map((reply) => toResult(reply, base64)));
    }
    if (path === "/multi-exec") {
      const replies = await this.#send([["MULTI"], ...body, ["EXEC"]]);
      const exec = replies.at(-1)!;
      if (exec instanceof RedisError || !Array.isArray(exec)) {
        return Response.json({ error: exec instanceof RedisError ? exec.message : "ERR aborted" }, {
          status: 400,
        });
      }
      return Response.json(exec.map((reply) => toResult(reply, base64)));
    }
    return Response.json({ error: "ERR unknown endpoint" }, { status: 404 });
  }

  #send(commands: unknown[][]): Promise<Reply[]> {
    const args = commands.map((command) => command.map(String));
    for (const command of args) this.commands.push([command[0].toUpperCase(), ...command.slice(1)]);
    return this.redis.send(args);
  }
}

function isCommand(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length > 0 &&
    value.every((part) => ["string", "number", "boolean"].includes(typeof part));
}

function toResult(reply: Reply, base64: boolean): Result {
  if (reply instanceof RedisError) return { error: reply.message };
  return { result: encode(reply, base64) };
}

function encode(reply: Reply, base64: boolean): unknown {
  if (reply instanceof RedisError) return reply.message;
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64));
  if (typeof reply === "string" && base64 && reply !== "OK") {
    return Buffer.from(reply).toString("base64");
  }
  return reply;
}
