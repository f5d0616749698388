/**
 * The credentials the pool lends out, read from the `GITHUB_PAT_<NAME>` and
 * `GITHUB_APP_<NAME>_{ID,INSTALLATION_ID,PEM}` variables (DESIGN §4, §8), or files of those
 * names (`credential_files.ts`). Without `_INSTALLATION_ID` an App is a root whose installations
 * the pool discovers (`installations.ts`). A problem names the variable, never its value.
 */
import { createPrivateKey } from "node:crypto";

/** A personal access token, `GITHUB_PAT_<NAME>`. */
export interface PatSource {
  /** Tells a PAT from an App. */
  readonly kind: "pat";
  /** `<NAME>`: how logs, metrics and cache entries name the credential. */
  readonly name: string;
  /** The token itself, trimmed: a secret that never leaves the pool. */
  readonly token: string;
}

/** A GitHub App installation, `GITHUB_APP_<NAME>_{ID,INSTALLATION_ID,PEM}`. */
export interface AppSource {
  /** Tells an App from a PAT. */
  readonly kind: "app";
  /** `<NAME>`: how logs, metrics and cache entries name the credential. */
  readonly name: string;
  /** The App's numeric id (`GITHUB_APP_<NAME>_ID`). */
  readonly appId: string;
  /**
   * The installation tokens are minted for (`GITHUB_APP_<NAME>_INSTALLATION_ID`); undefined for
   * an App whose installations are discovered, which mints nothing itself.
   */
  readonly installationId: string | undefined;
  /**
   * The account (lower-case login) a discovered installation is on: requests for that account go
   * to it and to no other. Undefined for an explicit installation id, which serves any path.
   */
  readonly account?: string;
  /** What the installation may grant (discovery's `permissions`), when known. */
  readonly permissions?: Readonly<Record<string, string>>;
  /** PEM text with real newlines, ending in one. */
  readonly privateKey: string;
}

/** One credential of the pool, known by its `<NAME>`. */
export type CredentialSource = PatSource | AppSource;

/** The credentials an environment names, sorted by variable, and what is wrong with the rest. */
export interface ParsedCredentials {
  readonly credentials: readonly CredentialSource[];
  readonly problems: readonly string[];
}

const PAT_PREFIX = "GITHUB_PAT_";
const APP_VARIABLE = /^GITHUB_APP_(.+?)_(ID|INSTALLATION_ID|PEM)$/;
const APP_PARTS = ["ID", "INSTALLATION_ID", "PEM"] as const;
/** Without `INSTALLATION_ID` the App's installations are discovered. */
const REQUIRED_APP_PARTS = ["ID", "PEM"] as const;
type AppPart = typeof APP_PARTS[number];

/** Reads every PAT and every complete App triple of `env`; PKCS#1 and PKCS#8 keys both load. */
export function parseCredentials(
  env: Readonly<Record<string, string | undefined>>,
): ParsedCredentials {
  const problems: string[] = [];
  const credentials: CredentialSource[] = [];
  const apps = new Map<string, Partial<Record<AppPart, string>>>();
  for (const [variable, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (value === undefined) continue;
    if (variable.startsWith(PAT_PREFIX) && variable.length > PAT_PREFIX.length) {
      const name = variable.slice(PAT_PREFIX.length);
      if (value.trim() === "") problems.push(`${variable} is empty`);
      else credentials.push({ kind: "pat", name, token: value.trim() });
      continue;
    }
    const app = APP_VARIABLE.exec(variable);
    if (app) {
      const [, name, part] = app;
      const entry = apps.get(name) ?? {};
      entry[part as AppPart] = value;
      apps.set(name, entry);
    }
  }
  for (const name of apps.keys()) {
    // The pool knows credentials by name: a PAT and an App sharing one would be one credential.
    if (credentials.some((credential) => credential.name === name)) {
      problems.push(
        `GITHUB_PAT_${name} and GITHUB_APP_${name}_* both name the credential "${name}"; rename one`,
      );
    }
  }
  for (const [name, parts] of apps) {
    const missing = REQUIRED_APP_PARTS.filter((part) => !parts[part]?.trim());
    if (missing.length > 0) {
      problems.push(
        `GitHub App ${name} is incomplete: set ${
          missing.map((part) => `GITHUB_APP_${name}_${part}`).join(", ")
        }`,
      );
      continue;
    }
    const appId = parts.ID!.trim();
    const installationId = parts.INSTALLATION_ID?.trim() || undefined;
    if (!/^\d+$/.test(appId)) problems.push(`GITHUB_APP_${name}_ID must be numeric`);
    if (installationId !== undefined && !/^\d+$/.test(installationId)) {
      problems.push(`GITHUB_APP_${name}_INSTALLATION_ID must be numeric`);
    }
    const privateKey = parts.PEM!.replace(/\\n/g, "\n").trim() + "\n";
    if (!isRsaPrivateKey(privateKey)) {
      problems.push(
        `GITHUB_APP_${name}_PEM is not a PEM private key (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY")`,
      );
      continue;
    }
    credentials.push({ kind: "app", name, appId, installationId, privateKey });
  }
  return { credentials, problems };
}

function isRsaPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === "rsa";
  } catch {
    return false;
  }
}
