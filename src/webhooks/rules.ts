/**
 * Which `webhooks:` rules a delivery triggers and what each sends (DESIGN §12), as a pure
 * function: a rule matches on the event name and, when it names one, the payload's `action`;
 * its target is filled from the payload. A rule whose lookups find nothing, or whose filled
 * repository is not `owner/name` or workflow is `.`/`..` (either would leave the repository's
 * path), is skipped with the reason, never sent half-filled.
 */
import type { TemplateValue, WebhookRule } from "../registry/model.ts";
import { isDotSegment, REPOSITORY } from "../registry/webhook_rules.ts";
import { render } from "./template.ts";

/** One call a rule makes: `POST <path>` with a JSON body. */
export interface DispatchCall {
  /** Below the API base: `/repos/{o}/{r}/actions/workflows/{w}/dispatches` or `…/dispatches`. */
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/** What one matching rule makes of a delivery. */
export type RuleOutcome =
  | { readonly rule: WebhookRule; readonly call: DispatchCall }
  | { readonly rule: WebhookRule; readonly skipped: string };

/** Every rule matching `event` with `payload`, in registry order, each sent or skipped. */
export function triggeredRules(
  rules: readonly WebhookRule[],
  event: string,
  payload: unknown,
): RuleOutcome[] {
  const action = typeof payload === "object" && payload !== null && "action" in payload
    ? payload.action
    : undefined;
  return rules
    .filter((rule) => rule.event === event && (rule.action === undefined || rule.action === action))
    .map((rule) => outcomeOf(rule, payload));
}

function outcomeOf(rule: WebhookRule, payload: unknown): RuleOutcome {
  const { target } = rule;
  const fields: { readonly [key: string]: TemplateValue } = target.kind === "dispatch"
    ? {
      repository: target.repository,
      workflow: target.workflow,
      ref: target.ref,
      inputs: target.inputs,
    }
    : {
      repository: target.repository,
      event_type: target.eventType,
      client_payload: target.clientPayload,
    };
  const rendered = render(fields, payload);
  if ("missing" in rendered) return { rule, skipped: `${rendered.missing} is not in the payload` };
  const filled = rendered.value as Record<string, unknown>;
  const repository = filled.repository;
  if (typeof repository !== "string" || !REPOSITORY.test(repository)) {
    return { rule, skipped: `repository ${JSON.stringify(repository)} is not owner/name` };
  }
  if (target.kind === "dispatch") {
    const { workflow, ref, inputs } = filled;
    if (typeof workflow !== "string" || workflow === "" || typeof ref !== "string" || ref === "") {
      return { rule, skipped: "workflow or ref is empty once filled" };
    }
    if (isDotSegment(workflow)) {
      return { rule, skipped: `workflow ${JSON.stringify(workflow)} is not a file name or id` };
    }
    return {
      rule,
      call: {
        path: `/repos/${repository}/actions/workflows/${encodeURIComponent(workflow)}/dispatches`,
        body: { ref, inputs },
      },
    };
  }
  const { event_type, client_payload } = filled;
  if (typeof event_type !== "string" || event_type === "") {
    return { rule, skipped: "event_type is empty once filled" };
  }
  return {
    rule,
    call: { path: `/repos/${repository}/dispatches`, body: { event_type, client_payload } },
  };
}
