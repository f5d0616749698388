/**
 * The end-to-end tests' one fixture: a fake GitHub with the real gateway in front of it, both
 * closed when the test's scope ends (`await using`), also when an assertion throws.
 *
 * ```ts
 * await using setup = await fakeAndGateway({ fake: { pats: { p: {} } }, env: { GITHUB_PAT_A: "p" } });
 * const { fake, gw } = setup;
 * ```
 */
import { FakeGitHub, type FakeGitHubOptions } from "./fake_github.ts";
import { startGateway, type TestGateway, type TestGatewayOptions } from "./gateway.ts";

export interface FakeAndGatewayOptions {
  /** How the fake GitHub starts (its PATs, Apps, layout). */
  readonly fake?: FakeGitHubOptions;
  /** How the gateway starts; its GitHub is the fake. */
  readonly gateway?: Omit<TestGatewayOptions, "githubApiUrl" | "env" | "now">;
  /** The gateway's configuration variables (GITHUB_PAT_*, CACHE_BACKEND_URL, …). */
  readonly env?: Record<string, string>;
  /**
   * One clock for the fake and the gateway's credential pool (a `ManualClock`'s `now`), so
   * GitHub's reset times and the pool's reading of them cannot drift apart.
   */
  readonly now?: () => number;
  /** Resources the fake serves from the start (path → JSON body), as `fake.setResource`. */
  readonly resources?: Record<string, unknown>;
}

export interface FakeAndGateway extends AsyncDisposable {
  readonly fake: FakeGitHub;
  readonly gw: TestGateway;
}

export async function fakeAndGateway(
  options: FakeAndGatewayOptions = {},
): Promise<FakeAndGateway> {
  const now = options.now;
  const fake = await FakeGitHub.start(now ? { ...options.fake, now } : options.fake);
  for (const [path, body] of Object.entries(options.resources ?? {})) {
    fake.setResource(path, body);
  }
  let gw: TestGateway;
  try {
    gw = await startGateway({ ...options.gateway, githubApiUrl: fake.url, env: options.env, now });
  } catch (error) {
    await fake.close();
    throw error;
  }
  return {
    fake,
    gw,
    async [Symbol.asyncDispose]() {
      // The gateway first: it may still hold connections to the fake.
      await gw.close();
      await fake.close();
    },
  };
}
