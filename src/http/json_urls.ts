/**
 * URL rewriting in JSON bodies (DESIGN §5, §10): every JSON string that starts with an upstream
 * base of a `UrlMap` gets the client's base instead, so hypermedia clients (PyGithub asserts that
 * every URL it follows is on its own host) stay on the gateway. A byte scan of the text, never a
 * parse and re-serialisation: a string starts at an unescaped `"`, and an unescaped `"` followed
 * by `h` can only open a string, so finding `"<base>` with an even run of backslashes before it
 * is enough. URLs in the middle of a string, and web URLs (`https://github.com/…`), stay.
 */
import { Buffer } from "node:buffer";
import type { Bytes } from "../cache/entry.ts";
import { concat } from "./body.ts";
import { BASE_BOUNDARY, type UrlMap } from "./links.ts";

const encoder = new TextEncoder();
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const BOUNDARY = new Set([...BASE_BOUNDARY, '"'].map((char) => char.charCodeAt(0)));

/** `application/json` and every `+json` media type (`application/vnd.github+json`). */
export function isJson(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semicolon = contentType.indexOf(";");
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim()
    .toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/** Where one window of input has been scanned to, and what it became. */
interface Scanned {
  /** Output pieces, in order: untouched views of the input and replacements. */
  readonly pieces: Uint8Array[];
  /** Input bytes consumed; the rest is carried into the next window. */
  readonly consumed: number;
}

/** Rewrites the URLs of one `UrlMap` in JSON text, whole or streamed. */
export class JsonUrlRewriter {
  /** `"<from>` per rule, longest first, as the map orders them. */
  readonly #needles: Buffer[];
  /** `"<to>` per rule. */
  readonly #replacements: Uint8Array[];
  /** The bytes every needle starts with: what `indexOf` looks for. */
  readonly #common: Buffer;
  /** The longest needle: a match starting this close to a window's end is not decidable yet. */
  readonly #longest: number;

  constructor(map: UrlMap) {
    this.#needles = map.map((rule) => Buffer.from(encoder.encode(`"${rule.from}`)));
    this.#replacements = map.map((rule) => encoder.encode(`"${rule.to}`));
    this.#longest = Math.max(0, ...this.#needles.map((needle) => needle.length));
    let common = this.#needles[0]?.length ?? 0;
    for (const needle of this.#needles) {
      let i = 0;
      while (i < common && needle[i] === this.#needles[0][i]) i++;
      common = i;
    }
    this.#common = this.#needles[0]?.subarray(0, Math.max(1, common)) ?? Buffer.from('"');
  }

  /** `body` rewritten; `body` itself when nothing in it changes. */
  rewrite(body: Bytes): Bytes {
    const { pieces } = this.#scan(body, true, false);
    return pieces.length === 1 && pieces[0] === body ? body : concat(pieces);
  }

  /**
   * A stream rewriting as it goes: a match may span chunks, so up to the longest base's length
   * of each chunk waits for the next one.
   */
  stream(): TransformStream<Uint8Array, Uint8Array> {
    let carry = new Uint8Array(0);
    /** The input before `carry` ends in an odd run of backslashes. */
    let escaped = false;
    const emit = (
      controller: TransformStreamDefaultController<Uint8Array>,
      window: Uint8Array,
      final: boolean,
    ) => {
      const { pieces, consumed } = this.#scan(window, final, escaped);
      for (const piece of pieces) if (piece.length > 0) controller.enqueue(piece);
      // The next window starts at `consumed`: is the byte there escaped?
      escaped = isEscaped(window, consumed, escaped);
      carry = window.slice(consumed);
    };
    return new TransformStream({
      transform: (chunk, controller) => {
        const window = carry.length === 0 ? chunk : concat([carry, chunk]);
        emit(controller, window, false);
      },
      flush: (controller) => {
        if (carry.length > 0) emit(controller, carry, true);
      },
    });
  }

  /**
   * Scans `input` for needles. `final`: nothing follows, so every position is decidable; else a
   * candidate within the longest needle of the end stays unconsumed. `escaped`: the input
   * before `input` ended in an odd run of backslashes.
   */
  #scan(input: Uint8Array, final: boolean, escaped: boolean): Scanned {
    const buffer = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const decidable = final ? input.length : input.length - this.#longest;
    const pieces: Uint8Array[] = [];
    let emitted = 0;
    let from = 0;
    while (true) {
      const at = buffer.indexOf(this.#common, from);
      if (at < 0 || at >= decidable) break;
      from = at + 1;
      if (isEscaped(input, at, escaped)) continue;
      const rule = this.#matchAt(buffer, at);
      if (rule < 0) continue;
      pieces.push(input.subarray(emitted, at), this.#replacements[rule]);
      emitted = at + this.#needles[rule].length;
      from = emitted;
    }
    const consumed = final ? input.length : Math.max(emitted, this.#undecided(buffer, decidable));
    if (emitted === 0 && consumed === input.length) return { pieces: [input], consumed };
    pieces.push(input.subarray(emitted, consumed));
    return { pieces, consumed };
  }

  /**
   * Where the input stops being decidable: the first `"` from `from` on that starts a needle or
   * could still grow into one; the input's end when there is none. Only that much waits
   * for the next chunk, so a stream that pauses delivers everything else at once.
   */
  #undecided(input: Buffer, from: number): number {
    for (let at = Math.max(0, from); at < input.length; at++) {
      if (input[at] !== QUOTE) continue;
      const rest = input.length - at;
      const grows = this.#needles.some((needle) => {
        const shared = Math.min(rest, needle.length);
        return input.compare(needle, 0, shared, at, at + shared) === 0;
      });
      if (grows) return at;
    }
    return input.length;
  }

  /** The rule whose needle starts at `at` and ends at a base boundary, or -1. */
  #matchAt(buffer: Buffer, at: number): number {
    for (let rule = 0; rule < this.#needles.length; rule++) {
      const needle = this.#needles[rule];
      const end = at + needle.length;
      if (end >= buffer.length || !BOUNDARY.has(buffer[end])) continue;
      if (buffer.compare(needle, 0, needle.length, at, end) === 0) return rule;
    }
    return -1;
  }
}

/** The byte at `at` follows an odd run of backslashes (counting those before `input`). */
function isEscaped(input: Uint8Array, at: number, escapedBefore: boolean): boolean {
  let run = 0;
  let i = at - 1;
  while (i >= 0 && input[i] === BACKSLASH) {
    run++;
    i--;
  }
  const odd = run % 2 === 1;
  return i < 0 ? odd !== escapedBefore : odd;
}
