/**
 * A cached GitHub answer and its wire codec. The content (status, kept headers, body) changes
 * only with a new upstream 200; the validation state (upstream ETag, credential, times) changes
 * on every revalidation, so backends can store the two apart and refresh the state cheaply.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { sha256, toHex } from "../digest.ts";

/** Bytes on an `ArrayBuffer` (not shared memory), as `Response` bodies need. */
export type Bytes = Uint8Array<ArrayBuffer>;

export interface EntryContent {
  readonly status: number;
  /** Representation headers worth replaying (see `keptHeaders`), in upstream order. */
  readonly headers: readonly (readonly [string, string])[];
  /** The uncompressed body exactly as GitHub sent it (GitHub's ETag hashes these bytes). */
  readonly body: Bytes;
  readonly lastModified?: string;
  /** Hex SHA-256 of `body`: the client-facing ETag and the identity of the content. */
  readonly digest: string;
}

export interface EntryState {
  /** The upstream ETag as GitHub sent it to `credential`. */
  readonly etag?: string;
  /** `<NAME>` of the credential the entry was last fetched or validated with; never a secret. */
  readonly credential: string;
  /**
   * The `narrowingKey` of the client's `github_token:` it was last fetched or validated with;
   * absent: an un-narrowed credential. Only a client of the same narrowing may be served the
   * entry without asking GitHub, which enforces the narrowing.
   */
  readonly narrowing?: string;
  /** Epoch ms when this content was first stored. */
  readonly storedAt: number;
  /** Epoch ms of the last successful (re)validation: the entry's age and TTL count from here. */
  readonly validatedAt: number;
}

export type CacheEntry = EntryContent & EntryState;

export function bodyDigest(body: Uint8Array): string {
  return toHex(sha256(body));
}

export function stateOf(entry: CacheEntry): EntryState {
  const { etag, credential, narrowing, storedAt, validatedAt } = entry;
  return {
    ...(etag === undefined ? {} : { etag }),
    credential,
    ...(narrowing === undefined ? {} : { narrowing }),
    storedAt,
    validatedAt,
  };
}

const FORMAT_VERSION = 1;
const COMPRESSED = 1;
/** Bodies this small are not worth a deflate call. */
const MIN_COMPRESSIBLE = 512;
const HEADER_BYTES = 6;

interface ContentMeta {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly lastModified?: string;
  readonly digest: string;
  readonly length: number;
}

/**
 * `[version][flags][meta length u32][meta JSON][body, deflate-raw when it pays]`: one byte
 * string that can be chunked or base64-encoded by any backend.
 */
export function encodeContent(content: EntryContent): Bytes {
  const meta: ContentMeta = {
    status: content.status,
    headers: content.headers,
    lastModified: content.lastModified,
    digest: content.digest,
    length: content.body.length,
  };
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta));
  let body: Uint8Array = content.body;
  let flags = 0;
  if (body.length >= MIN_COMPRESSIBLE) {
    const compressed = deflateRawSync(body);
    if (compressed.length < body.length) {
      body = compressed;
      flags |= COMPRESSED;
    }
  }
  const out = new Uint8Array(HEADER_BYTES + metaBytes.length + body.length);
  const view = new DataView(out.buffer);
  out[0] = FORMAT_VERSION;
  out[1] = flags;
  view.setUint32(2, metaBytes.length);
  out.set(metaBytes, HEADER_BYTES);
  out.set(body, HEADER_BYTES + metaBytes.length);
  return out;
}

export class EntryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EntryFormatError";
  }
}

export function decodeContent(bytes: Uint8Array): EntryContent {
  if (bytes.length < HEADER_BYTES || bytes[0] !== FORMAT_VERSION) {
    throw new EntryFormatError("unknown cache entry format");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metaLength = view.getUint32(2);
  const metaEnd = HEADER_BYTES + metaLength;
  const meta = JSON.parse(
    new TextDecoder().decode(bytes.subarray(HEADER_BYTES, metaEnd)),
  ) as ContentMeta;
  const stored = bytes.subarray(metaEnd);
  const body = bytes[1] & COMPRESSED
    ? new Uint8Array(inflateRawSync(stored))
    : new Uint8Array(stored);
  if (body.length !== meta.length) throw new EntryFormatError("truncated cache entry");
  const content = { status: meta.status, headers: meta.headers, body, digest: meta.digest };
  return meta.lastModified === undefined
    ? content
    : { ...content, lastModified: meta.lastModified };
}
