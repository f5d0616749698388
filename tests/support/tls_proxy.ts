/**
 * A TLS-terminating reverse proxy for end-to-end tests, as nginx or Caddy sits in front of the
 * gateway: HTTPS on 127.0.0.1 with a certificate from a throwaway test CA (made with `openssl`),
 * forwarding to the gateway over plain HTTP with `X-Forwarded-Proto: https` and
 * `X-Forwarded-Host`. It cannot pass the client's `Host` on (Deno's `fetch` sets its own), as
 * nginx's default `proxy_pass` does not; it buffers request bodies, as nginx does, so uploads
 * arrive with a `Content-Length`. It records what it forwarded: a client that followed a URL
 * past the proxy (the gateway's own `http://` address) shows up as a request missing here.
 */

export interface TestCa {
  /** PEM of the CA that signed the proxy's certificate: what clients must trust. */
  readonly caPem: string;
  /** Path of that PEM, for `SSL_CERT_FILE` and friends. */
  readonly caFile: string;
  /** The proxy's certificate (for 127.0.0.1 and localhost) and key. */
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TlsProxy {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly ca: TestCa;
  /** A `fetch` client trusting the test CA. */
  readonly httpClient: Deno.HttpClient;
  /** `METHOD /path?query` of every request forwarded, as the client sent it. */
  readonly forwarded: readonly string[];
  close(): Promise<void>;
}

export interface TlsProxyOptions {
  /** Sent as `X-Forwarded-Prefix` when the proxy mounts the gateway under a path. */
  readonly prefix?: string;
}

/** Headers a proxy does not pass on: its own hop's, and what it sets itself. */
const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "upgrade", "host"];

async function openssl(dir: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
  if (!output.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** A CA and a server certificate it signed for 127.0.0.1 and localhost, valid for a day. */
export async function makeTestCa(dir: string): Promise<TestCa> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=github-proxy test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await openssl(dir, [
    "req",
    ...ec,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    [
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
    ].join("\n"),
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "1",
    "-extfile",
    "server.ext",
  ]);
  return {
    caPem: await Deno.readTextFile(`${dir}/ca.pem`),
    caFile: `${dir}/ca.pem`,
    certPem: await Deno.readTextFile(`${dir}/server.pem`),
    keyPem: await Deno.readTextFile(`${dir}/server.key`),
  };
}

/** Starts the proxy in front of `upstream` (the gateway's `http://127.0.0.1:<port>`). */
export async function startTlsProxy(
  upstream: string,
  options: TlsProxyOptions = {},
): Promise<TlsProxy> {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-tls-" });
  const ca = await makeTestCa(dir);
  const forwarded: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: ca.certPem, key: ca.keyPem, onListen() {} },
    async (request) => {
      const incoming = new URL(request.url);
      forwarded.push(`${request.method} ${incoming.pathname}${incoming.search}`);
      const headers = new Headers(request.headers);
      for (const name of HOP_BY_HOP) headers.delete(name);
      // Deno's fetch would otherwise decompress what the client asked to receive compressed.
      headers.delete("accept-encoding");
      headers.set("x-forwarded-proto", "https");
      headers.set("x-forwarded-host", request.headers.get("host") ?? incoming.host);
      if (options.prefix) headers.set("x-forwarded-prefix", options.prefix);
      const path = options.prefix && incoming.pathname.startsWith(options.prefix)
        ? incoming.pathname.slice(options.prefix.length) || "/"
        : incoming.pathname;
      const body = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
      const answer = await fetch(`${upstream}${path}${incoming.search}`, {
        method: request.method,
        headers,
        body,
        redirect: "manual",
      });
      const out = new Headers(answer.headers);
      for (const name of HOP_BY_HOP) out.delete(name);
      return new Response(answer.body, { status: answer.status, headers: out });
    },
  );
  const port = server.addr.port;
  const httpClient = Deno.createHttpClient({ caCerts: [ca.caPem] });
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ca,
    httpClient,
    forwarded,
    async close() {
      httpClient.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
