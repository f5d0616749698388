/**
 * `POST /webhooks/github` (DESIGN §12): GitHub's deliveries, before identify — it needs no
 * client token, and a client token does not stand in for the signature. The raw body is read
 * whole (25 MB, GitHub's own cap) because the signature covers its exact bytes; nothing happens
 * for a delivery whose signature is missing or wrong. Without `GITHUB_WEBHOOK_SECRET` the
 * endpoint does not exist and answers 404 as any unknown path.
 */
import type { Context } from "hono";
import { readUpTo } from "../http/body.ts";
import { githubError } from "../http/errors.ts";
import type { WebhookReceiver } from "../webhooks/receiver.ts";

/** GitHub caps payloads at 25 MB and does not deliver larger ones. */
export const MAX_DELIVERY_BYTES = 25 * 1024 * 1024;

const WEBHOOK_DOCS =
  "https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries";

/** The endpoint's handler; `receiver` is undefined when no secret is configured. */
export function webhooksEndpoint(receiver: WebhookReceiver | undefined) {
  return async (c: Context): Promise<Response> => {
    if (!receiver) return githubError(404, "Not Found");
    const request = c.req.raw;
    const body = await readUpTo(request, MAX_DELIVERY_BYTES);
    if (body instanceof ReadableStream) {
      await body.cancel();
      return githubError(
        413,
        "Payload too large",
        {},
        WEBHOOK_DOCS,
        "deliveries are at most 25 MB",
      );
    }
    const signature = request.headers.get("x-hub-signature-256");
    // A missing signature is refused by `verified` (and counted); the second test narrows it.
    if (!await receiver.verified(body, signature) || signature === null) {
      return githubError(
        401,
        "Bad credentials",
        {},
        WEBHOOK_DOCS,
        "X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of the body under a secret of GITHUB_WEBHOOK_SECRET",
      );
    }
    const id = request.headers.get("x-github-delivery")?.trim();
    const event = request.headers.get("x-github-event")?.trim();
    if (!id || !event) {
      return githubError(
        400,
        "Bad Request",
        {},
        WEBHOOK_DOCS,
        "X-GitHub-Delivery and X-GitHub-Event are required",
      );
    }
    const taken = await receiver.take({
      id,
      event,
      body,
      signature,
      contentType: request.headers.get("content-type"),
    });
    if (taken === "ping") return c.json({ message: "pong" }, 200);
    return c.json({ message: taken === "duplicate" ? "already received" : "accepted" }, 202);
  };
}
