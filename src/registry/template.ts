/**
 * The registry's whole template language: `{{ env.NAME }}`, rendered before YAML parsing.
 * A placeholder that is a whole unquoted YAML value is rendered as a quoted string so that no
 * value can change the document's structure.
 */

const PLACEHOLDER = /\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const WHOLE_VALUE =
  /^(\s*(?:-\s+)?(?:[\w-]+:\s+)?)\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}(\s*(?:#.*)?)$/;

export interface TemplateProblem {
  readonly line: number;
  readonly message: string;
}

export interface RenderedTemplate {
  readonly text: string;
  readonly problems: readonly TemplateProblem[];
  /** Names of the variables the template read, so the launcher can allow exactly those. */
  readonly variables: readonly string[];
}

export function renderTemplate(
  source: string,
  env: (name: string) => string | undefined,
): RenderedTemplate {
  const problems: TemplateProblem[] = [];
  const variables = new Set<string>();
  const lookup = (name: string, line: number): string => {
    variables.add(name);
    const value = env(name);
    if (value === undefined) {
      problems.push({ line, message: `environment variable ${name} is not set` });
      return "";
    }
    if (/[\r\n]/.test(value)) {
      problems.push({ line, message: `environment variable ${name} contains a line break` });
      return "";
    }
    return value;
  };
  const lines = source.split("\n").map((text, index) => {
    const line = index + 1;
    if (text.trimStart().startsWith("#")) return text;
    const whole = WHOLE_VALUE.exec(text);
    if (whole) return `${whole[1]}${JSON.stringify(lookup(whole[2], line))}${whole[3]}`;
    return text.replace(PLACEHOLDER, (_match, name: string) => lookup(name, line));
  });
  return { text: lines.join("\n"), problems, variables: [...variables] };
}
