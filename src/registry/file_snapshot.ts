/**
 * Reads the registry file completely, with what is needed to tell whether it was changing: a
 * file rewritten in place can be read between two writes, and its half would parse.
 */
import { sha256, toHex } from "../digest.ts";

/** One read of the file, with the identity and timestamps it had during the read. */
export interface FileSnapshot {
  readonly text: string;
  /** SHA-256 of the bytes read, hex. */
  readonly digest: string;
  /** The inode at the path; `null` where the platform has none (then every change is in place). */
  readonly ino: number | null;
  readonly dev: number;
  readonly size: number;
  readonly mtimeMs: number | null;
  readonly ctimeMs: number | null;
  /**
   * True when nothing moved during the read: the same size and timestamps before and after, the
   * same inode still at the path, and a second read gave the same bytes.
   */
  readonly consistent: boolean;
}

/** Reads `path` twice and compares; throws what `Deno.open` throws (e.g. `NotFound`). */
export async function readSnapshot(path: string): Promise<FileSnapshot> {
  const file = await Deno.open(path, { read: true });
  let before: Deno.FileInfo, after: Deno.FileInfo, bytes: Uint8Array;
  try {
    before = await file.stat();
    bytes = await readToEnd(file);
    after = await file.stat();
  } finally {
    file.close();
  }
  const atPath = await Deno.stat(path);
  const again = await Deno.readFile(path);
  const digest = toHex(sha256(bytes));
  const consistent = sameStat(before, after) && sameStat(after, atPath) &&
    after.size === bytes.length && toHex(sha256(again)) === digest;
  return {
    text: new TextDecoder().decode(bytes),
    digest,
    ino: after.ino,
    dev: after.dev,
    size: after.size,
    mtimeMs: after.mtime?.getTime() ?? null,
    ctimeMs: after.ctime?.getTime() ?? null,
    consistent,
  };
}

/** The same file (inode) at the path in both snapshots; never true without inode numbers. */
export function sameFile(a: FileSnapshot, b: FileSnapshot | undefined): boolean {
  return b !== undefined && a.ino !== null && a.ino === b.ino && a.dev === b.dev;
}

/** Nothing observable changed between the two reads: inode, size, timestamps and content. */
export function unchanged(a: FileSnapshot, b: FileSnapshot): boolean {
  return a.consistent && b.consistent && a.ino === b.ino && a.dev === b.dev &&
    a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs &&
    a.digest === b.digest;
}

/** Reads until end of file; `file.readable` would close the file before its second `stat`. */
async function readToEnd(file: Deno.FsFile): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = new Uint8Array(64 * 1024);
    const read = await file.read(chunk);
    if (read === null) break;
    chunks.push(chunk.subarray(0, read));
    total += read;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function sameStat(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size &&
    a.mtime?.getTime() === b.mtime?.getTime() && a.ctime?.getTime() === b.ctime?.getTime();
}
