/** GitHub-shaped JSON errors: what every GitHub client already knows how to read. */

const DOCS = "https://docs.github.com/rest";

export function githubError(
  status: number,
  message: string,
  headers: HeadersInit = {},
  documentationUrl = DOCS,
): Response {
  const response = new Response(
    JSON.stringify({ message, documentation_url: documentationUrl }),
    { status, headers },
  );
  response.headers.set("content-type", "application/json; charset=utf-8");
  return response;
}
