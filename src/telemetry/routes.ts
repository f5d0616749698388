/**
 * Collapses request paths to GitHub's route templates (`/repos/{owner}/{repo}/issues`) so that
 * metric labels stay bounded however many repositories clients touch.
 */
import templates from "./github_routes.json" with { type: "json" };

interface Node {
  readonly literal: Map<string, Node>;
  param?: Node;
  template?: string;
  /** Template whose last parameter may contain `/` (file paths, git refs, branch names). */
  restTemplate?: string;
}

const SLASHED_PARAMETERS = new Set(["{path}", "{ref}", "{branch}", "{tag}"]);

const newNode = (): Node => ({ literal: new Map() });

function buildTrie(routes: readonly string[]): Node {
  const root = newNode();
  for (const route of routes) {
    let node = root;
    const segments = route.split("/").slice(1);
    const last = segments.at(-1) ?? "";
    if (SLASHED_PARAMETERS.has(last)) {
      let parent = root;
      for (const segment of segments.slice(0, -1)) {
        parent = segment.startsWith("{")
          ? parent.param ??= newNode()
          : parent.literal.get(segment.toLowerCase()) ??
            (parent.literal.set(segment.toLowerCase(), newNode()).get(segment.toLowerCase())!);
      }
      parent.restTemplate = route;
    }
    for (const segment of segments) {
      if (segment.startsWith("{")) {
        node.param ??= newNode();
        node = node.param;
      } else {
        const key = segment.toLowerCase();
        let next = node.literal.get(key);
        if (!next) node.literal.set(key, next = newNode());
        node = next;
      }
    }
    node.template = route;
  }
  return root;
}

/** Label for paths that match no published route. */
export const UNKNOWN_ROUTE = "other";

export function createRouteMatcher(
  routes: readonly string[] = templates,
): (path: string) => string {
  const root = buildTrie(routes);
  const match = (node: Node, segments: readonly string[], index: number): string | undefined => {
    if (index === segments.length) return node.template;
    const literal = node.literal.get(segments[index].toLowerCase());
    const viaLiteral = literal && match(literal, segments, index + 1);
    if (viaLiteral) return viaLiteral;
    const viaParam = node.param && segments[index] !== ""
      ? match(node.param, segments, index + 1)
      : undefined;
    return viaParam ?? node.restTemplate;
  };
  return (path) => match(root, path.split("/").slice(1), 0) ?? UNKNOWN_ROUTE;
}
