/**
 * The fake GitHub's two dispatch endpoints (what `webhooks:` rules call, DESIGN §12), as GitHub
 * answers them: `POST /repos/{o}/{r}/actions/workflows/{workflow}/dispatches` takes `{ref,
 * inputs}` for a workflow the repository has (404 otherwise, 422 for a ref it lacks or an input
 * the workflow does not declare) and `POST /repos/{o}/{r}/dispatches` takes `{event_type,
 * client_payload}` (422 without `event_type`); both answer 204 No Content. Every call is
 * recorded with the credential it came with; `failNext` makes the next calls answer a 5xx.
 */

/** A call one of the endpoints took (answered 2xx or not). */
export interface RecordedDispatch {
  readonly kind: "workflow_dispatch" | "repository_dispatch";
  readonly method: string;
  readonly path: string;
  /** `owner/repo`, as the path spelt it. */
  readonly repository: string;
  /** The workflow file or id, for a workflow dispatch. */
  readonly workflow?: string;
  readonly body: unknown;
  readonly credential: string | null;
  readonly status: number;
}

/** A route's answer, in the shape the fake GitHub's routes return. */
export interface DispatchAnswer {
  status: number;
  body?: Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
}

interface Workflow {
  readonly refs: ReadonlySet<string>;
  /** Declared `workflow_dispatch` inputs; undefined accepts any. */
  readonly inputs?: ReadonlySet<string>;
}

const DOCS = "https://docs.github.com/rest";
const encoder = new TextEncoder();

export class FakeDispatches {
  readonly calls: RecordedDispatch[] = [];
  readonly #workflows = new Map<string, Workflow>();
  #failures: { count: number; status: number } = { count: 0, status: 502 };

  /** Gives `repository` (`owner/repo`) a workflow with a `workflow_dispatch` trigger. */
  addWorkflow(
    repository: string,
    workflow: string,
    options: { refs?: string[]; inputs?: string[] } = {},
  ): void {
    this.#workflows.set(`${repository.toLowerCase()} ${workflow}`, {
      refs: new Set(options.refs ?? ["main"]),
      inputs: options.inputs && new Set(options.inputs),
    });
  }

  /** Takes the workflow away (deleted, or its `workflow_dispatch` trigger removed). */
  removeWorkflow(repository: string, workflow: string): void {
    this.#workflows.delete(`${repository.toLowerCase()} ${workflow}`);
  }

  /** The next `count` dispatch calls answer `status` (default 502), as GitHub does in an outage. */
  failNext(count: number, status = 502): void {
    this.#failures = { count, status };
  }

  /** `POST /repos/{o}/{r}/actions/workflows/{workflow}/dispatches`. */
  workflowDispatch(
    path: string,
    owner: string,
    repo: string,
    workflow: string,
    body: Uint8Array,
    credential: string | null,
  ): DispatchAnswer {
    const repository = `${owner}/${repo}`;
    const input = parseJson(body);
    const answer = this.#failure() ?? this.#judgeWorkflow(repository, workflow, input);
    this.calls.push({
      kind: "workflow_dispatch",
      method: "POST",
      path,
      repository,
      workflow,
      body: input,
      credential,
      status: answer.status,
    });
    return answer;
  }

  /** `POST /repos/{o}/{r}/dispatches`. */
  repositoryDispatch(
    path: string,
    owner: string,
    repo: string,
    body: Uint8Array,
    credential: string | null,
  ): DispatchAnswer {
    const input = parseJson(body) as { event_type?: unknown } | undefined;
    const answer = this.#failure() ??
      (typeof input?.event_type === "string" && input.event_type !== ""
        ? { status: 204 }
        : json(422, { message: "Invalid request.\n\nevent_type wasn't supplied." }));
    this.calls.push({
      kind: "repository_dispatch",
      method: "POST",
      path,
      repository: `${owner}/${repo}`,
      body: input,
      credential,
      status: answer.status,
    });
    return answer;
  }

  #failure(): DispatchAnswer | undefined {
    if (this.#failures.count <= 0) return undefined;
    this.#failures.count--;
    return json(this.#failures.status, { message: "Server Error" });
  }

  #judgeWorkflow(repository: string, workflow: string, input: unknown): DispatchAnswer {
    const known = this.#workflows.get(`${repository.toLowerCase()} ${workflow}`);
    if (!known) return json(404, { message: "Not Found" });
    const { ref, inputs } = (input ?? {}) as { ref?: unknown; inputs?: unknown };
    if (typeof ref !== "string") {
      return json(422, { message: "Invalid request.\n\nref wasn't supplied." });
    }
    if (!known.refs.has(ref.replace(/^refs\/heads\//, ""))) {
      return json(422, { message: `No ref found for: ${ref}` });
    }
    const given = typeof inputs === "object" && inputs !== null ? Object.keys(inputs) : [];
    const unexpected = known.inputs ? given.filter((name) => !known.inputs!.has(name)) : [];
    if (unexpected.length > 0) {
      return json(422, { message: `Unexpected inputs provided: ${JSON.stringify(unexpected)}` });
    }
    return { status: 204 };
  }
}

function json(status: number, value: { message: string }): DispatchAnswer {
  return {
    status,
    body: encoder.encode(JSON.stringify({ ...value, documentation_url: DOCS })),
    headers: { "content-type": "application/json; charset=utf-8" },
  };
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}
