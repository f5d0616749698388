/**
 * URL rewriting in JSON bodies (DESIGN §5, §10): every JSON string that starts with an upstream
 * base of a `UrlMap` gets the client's base instead, so hypermedia clients (PyGithub asserts that
 * every URL it follows is on its own host) stay on the gateway. A byte scan of the text, never a
 * parse and re-serialisation: a string starts at an unescaped `"`, and an unescaped `"` followed
 * by `h` can only open a string, so finding `"<base>` with an even run of backslashes before it
 * is enough. URLs in the middle of a string, and web URLs (`https://github.com/…`), stay.
 *
 * The scan runs over the decoded text (JSON is UTF-8, RFC 8259 §8.1): `String#indexOf` is several
 * times faster than searching the bytes, and the bases are ASCII, so nothing else changes.
 */
import type { Bytes } from "../cache/entry.ts";
import { BASE_BOUNDARY, type UrlMap } from "./links.ts";

const encoder = new TextEncoder();
/** For whole bodies only: a stream gets a decoder of its own, which keeps state between chunks. */
const decoder = new TextDecoder();
const BOUNDARY = new Set([...BASE_BOUNDARY, '"']);

/** `application/json` and every `+json` media type (`application/vnd.github+json`). */
export function isJson(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semicolon = contentType.indexOf(";");
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim()
    .toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/** Where one window of text has been scanned to, and what it became. */
interface Scanned {
  /** Output pieces, in order: untouched slices of the input and replacements. */
  readonly pieces: string[];
  /** Input characters consumed; the rest is carried into the next window. */
  readonly consumed: number;
  /** At least one URL was rewritten. */
  readonly changed: boolean;
}

/** Rewrites the URLs of one `UrlMap` in JSON text, whole or streamed. */
export class JsonUrlRewriter {
  /** `"<from>` per rule, longest first, as the map orders them. */
  readonly #needles: string[];
  /** `"<to>` per rule. */
  readonly #replacements: string[];
  /** What every needle starts with: what `indexOf` looks for. */
  readonly #common: string;
  /** The longest needle: a match starting this close to a window's end is not decidable yet. */
  readonly #longest: number;

  constructor(map: UrlMap) {
    this.#needles = map.map((rule) => `"${rule.from}`);
    this.#replacements = map.map((rule) => `"${rule.to}`);
    this.#longest = Math.max(0, ...this.#needles.map((needle) => needle.length));
    const first = this.#needles[0] ?? '"';
    let common = first.length;
    for (const needle of this.#needles) {
      let i = 0;
      while (i < common && needle[i] === first[i]) i++;
      common = i;
    }
    this.#common = first.slice(0, Math.max(1, common));
  }

  /** `body` rewritten; `body` itself when nothing in it changes. */
  rewrite(body: Bytes): Bytes {
    const text = decoder.decode(body);
    if (!text.includes(this.#common)) return body;
    const { pieces, changed } = this.#scan(text, true, false);
    return changed ? encoder.encode(pieces.join("")) : body;
  }

  /**
   * A stream rewriting as it goes: a match may span chunks, so a possible start of a URL at the
   * end of a chunk waits for the next one; everything before it flows on at once.
   */
  stream(): TransformStream<Uint8Array, Uint8Array> {
    const chunks = new TextDecoder();
    let carry = "";
    /** The text before `carry` ends in an odd run of backslashes. */
    let escaped = false;
    const emit = (
      controller: TransformStreamDefaultController<Uint8Array>,
      window: string,
      final: boolean,
    ) => {
      const { pieces, consumed } = this.#scan(window, final, escaped);
      const out = pieces.join("");
      if (out.length > 0) controller.enqueue(encoder.encode(out));
      // The next window starts at `consumed`: is the character there escaped?
      escaped = isEscaped(window, consumed, escaped);
      carry = window.slice(consumed);
    };
    return new TransformStream({
      transform: (chunk, controller) => {
        emit(controller, carry + chunks.decode(chunk, { stream: true }), false);
      },
      flush: (controller) => emit(controller, carry + chunks.decode(), true),
    });
  }

  /**
   * Scans `text` for needles. `final`: nothing follows, so every position is decidable; else a
   * possible needle start near the end stays unconsumed. `escaped`: the text before `text`
   * ended in an odd run of backslashes.
   */
  #scan(text: string, final: boolean, escaped: boolean): Scanned {
    const decidable = final ? text.length : text.length - this.#longest;
    const pieces: string[] = [];
    let emitted = 0;
    let from = 0;
    while (true) {
      const at = text.indexOf(this.#common, from);
      if (at < 0 || at >= decidable) break;
      from = at + 1;
      if (isEscaped(text, at, escaped)) continue;
      const rule = this.#matchAt(text, at);
      if (rule < 0) continue;
      pieces.push(text.slice(emitted, at), this.#replacements[rule]);
      emitted = at + this.#needles[rule].length;
      from = emitted;
    }
    const changed = pieces.length > 0;
    const consumed = final ? text.length : Math.max(emitted, this.#undecided(text, decidable));
    pieces.push(text.slice(emitted, consumed));
    return { pieces, consumed, changed };
  }

  /**
   * Where the text stops being decidable: the first `"` from `from` on that starts a needle or
   * could still grow into one; the text's end when there is none. Only that much waits for the
   * next chunk, so a stream that pauses delivers everything else at once.
   */
  #undecided(text: string, from: number): number {
    for (let at = text.indexOf('"', Math.max(0, from)); at >= 0; at = text.indexOf('"', at + 1)) {
      const rest = text.slice(at);
      if (this.#needles.some((needle) => needle.startsWith(rest) || rest.startsWith(needle))) {
        return at;
      }
    }
    return text.length;
  }

  /** The rule whose needle starts at `at` and ends at a base boundary, or -1. */
  #matchAt(text: string, at: number): number {
    for (let rule = 0; rule < this.#needles.length; rule++) {
      const needle = this.#needles[rule];
      const end = at + needle.length;
      if (text.startsWith(needle, at) && end < text.length && BOUNDARY.has(text[end])) return rule;
    }
    return -1;
  }
}

/** The character at `at` follows an odd run of backslashes (counting those before `text`). */
function isEscaped(text: string, at: number, escapedBefore: boolean): boolean {
  let run = 0;
  let i = at - 1;
  while (i >= 0 && text.charCodeAt(i) === 0x5c) {
    run++;
    i--;
  }
  const odd = run % 2 === 1;
  return i < 0 ? odd !== escapedBefore : odd;
}
