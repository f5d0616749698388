/**
 * `{{ event.a.b }}` in `webhooks:` rules (DESIGN §6, §12): a field lookup in the delivery's
 * payload, nothing more. A string that is one lookup takes the field's JSON value (a number
 * stays a number); a lookup inside text is replaced by the field's text. A missing field makes
 * the whole rendering fail with its path, so the rule is skipped rather than sent half-filled.
 */
import type { TemplateValue } from "../registry/model.ts";

/** `{{ event.path }}`: segments of letters, digits, `_` and `-` (array indexes are digits). */
const LOOKUP = /\{\{\s*event((?:\.[A-Za-z0-9_-]+)+)\s*\}\}/g;
const WHOLE = /^\{\{\s*event((?:\.[A-Za-z0-9_-]+)+)\s*\}\}$/;

/** Why `text` is not a valid template, or undefined: every `{{ … }}` must be an event lookup. */
export function templateProblem(text: string): string | undefined {
  const rest = text.replace(LOOKUP, "");
  if (rest.includes("{{") || rest.includes("}}")) {
    return `only {{ event.field.path }} lookups may be written here, got "${text}"`;
  }
  return undefined;
}

/** A rendered value, or the payload path that was missing. */
export type Rendered<T> = { readonly value: T } | { readonly missing: string };

/** `value` with every lookup filled from `payload`. */
export function render(value: TemplateValue, payload: unknown): Rendered<unknown> {
  if (typeof value === "string") return renderText(value, payload);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const rendered = render(item, payload);
      if ("missing" in rendered) return rendered;
      out.push(rendered.value);
    }
    return { value: out };
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const rendered = render(item as TemplateValue, payload);
      if ("missing" in rendered) return rendered;
      out[key] = rendered.value;
    }
    return { value: out };
  }
  return { value };
}

function renderText(text: string, payload: unknown): Rendered<unknown> {
  const whole = WHOLE.exec(text);
  if (whole) return lookup(payload, whole[1]);
  let missing: string | undefined;
  const out = text.replace(LOOKUP, (_match, path: string) => {
    const found = lookup(payload, path);
    if ("missing" in found) {
      missing ??= found.missing;
      return "";
    }
    return typeof found.value === "string" ? found.value : JSON.stringify(found.value);
  });
  return missing === undefined ? { value: out } : { missing };
}

/** The payload field at `.a.b`; `null` is a value, absence is missing. */
function lookup(payload: unknown, path: string): Rendered<unknown> {
  let value = payload;
  for (const segment of path.slice(1).split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, segment)) {
      return { missing: `event${path}` };
    }
    value = (value as Record<string, unknown>)[segment];
  }
  return { value };
}
