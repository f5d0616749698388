/**
 * Credentials from files (DESIGN §8): a process's environment is fixed when it starts, so the
 * pool's credentials may also be files named like the variables (`GITHUB_PAT_MAIN`,
 * `GITHUB_APP_X_PEM`, …) in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`) or
 * `GITHUB_CREDENTIALS_DIR` (Kubernetes and Docker secrets mounted as files). They are re-read on
 * `SIGHUP`. A file is taken whole, less one trailing newline (what `echo` and editors add); a
 * variable and a file of the same name is an error naming both, never either value.
 */
import { parseCredentials, type ParsedCredentials } from "./sources.ts";

/** Names of the credential family; other files in the directory (other services') are ignored. */
const CREDENTIAL_NAME = /^GITHUB_(?:PAT_.+|APP_.+_(?:ID|INSTALLATION_ID|PEM))$/;

/** A file's text without one trailing newline (`\n` or `\r\n`). */
export function credentialFileText(text: string): string {
  return text.replace(/\r?\n$/, "");
}

/** The credential variables among `env` (`GITHUB_PAT_*`, `GITHUB_APP_*_{ID,INSTALLATION_ID,PEM}`). */
export function credentialVariablesOf(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && CREDENTIAL_NAME.test(name)) found[name] = value;
  }
  return found;
}

/** The files found: name → text and path, and what could not be read (naming the file only). */
export interface CredentialFiles {
  readonly values: Readonly<Record<string, string>>;
  readonly paths: ReadonlyMap<string, string>;
  readonly problems: readonly string[];
}

/**
 * Reads the credential files of `directories` (blank entries skipped). A name in two directories
 * is a problem: which one wins would depend on the order they are read in.
 */
export function readCredentialFiles(directories: readonly string[]): CredentialFiles {
  const values: Record<string, string> = {};
  const where = new Map<string, string>();
  const problems: string[] = [];
  for (const directory of directories.filter((entry) => entry !== "")) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(directory)];
    } catch (error) {
      problems.push(`credentials directory ${directory} cannot be read: ${(error as Error).name}`);
      continue;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!CREDENTIAL_NAME.test(entry.name)) continue;
      const path = `${directory}/${entry.name}`;
      const first = where.get(entry.name);
      if (first !== undefined) {
        problems.push(`credential file ${path} and ${first} both name ${entry.name}; keep one`);
        continue;
      }
      try {
        values[entry.name] = credentialFileText(Deno.readTextFileSync(path));
        where.set(entry.name, path);
      } catch (error) {
        problems.push(`credential file ${path} cannot be read: ${(error as Error).name}`);
      }
    }
  }
  return { values, paths: where, problems };
}

/**
 * The pool's credentials from the environment's credential variables and the files of
 * `directories` together. A name set both ways is a problem naming the variable and the file.
 */
export function loadCredentials(
  variables: Readonly<Record<string, string>>,
  directories: readonly string[],
): ParsedCredentials {
  const files = readCredentialFiles(directories);
  const problems = [...files.problems];
  for (const name of Object.keys(files.values)) {
    if (name in variables) {
      problems.push(
        `the variable ${name} and the credential file ${
          files.paths.get(name)
        } both set ${name}; keep one`,
      );
    }
  }
  const parsed = parseCredentials({ ...files.values, ...variables });
  return { credentials: parsed.credentials, problems: [...problems, ...parsed.problems] };
}
