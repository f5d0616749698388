/**
 * A strict parser of the Prometheus text exposition format (0.0.4), so tests read `/metrics`
 * the way Prometheus would and fail on anything malformed.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
  /** Sum of the samples of `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
  /** Samples of `name`. */
  series(name: string): Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  text.split("\n").forEach((line, index) => {
    const fail = (why: string) => {
      throw new Error(`metrics line ${index + 1}: ${why}: ${line}`);
    };
    if (line === "") return;
    if (line.startsWith("#")) {
      const [, keyword, name, rest] = line.split(" ", 4).concat("");
      if (keyword === "TYPE") {
        if (!NAME.test(name) || !/^(counter|gauge|histogram|summary|untyped)$/.test(rest)) {
          fail("bad TYPE");
        }
        if (types.has(name)) fail("duplicate TYPE");
        types.set(name, rest);
      } else if (keyword === "HELP" && !NAME.test(name)) fail("bad HELP");
      return;
    }
    const match = SAMPLE.exec(line);
    if (!match) return fail("not a sample");
    const labels: Record<string, string> = {};
    const body = match[3] ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body);
      if (!label) return fail("bad label set");
      if (label[1] in labels) fail("duplicate label");
      labels[label[1]] = label[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    const value = Number(match[4].replace(/^\+Inf$/, "Infinity").replace(/^-Inf$/, "-Infinity"));
    if (Number.isNaN(value) && match[4] !== "NaN") fail("bad value");
    const family = match[1].replace(/_(bucket|sum|count)$/, "");
    if (!types.has(match[1]) && !types.has(family)) fail("sample without TYPE");
    samples.push({ name: match[1], labels, value });
  });
  const series = (name: string) => samples.filter((s) => s.name === name);
  return {
    samples,
    types,
    series,
    value(name, labels = {}) {
      return series(name)
        .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    },
  };
}
