"""PyGithub, unchanged, pointed at the gateway: run by tests/e2e/clients_pygithub_test.ts.

Usage: pygithub_client.py <scenario> <base_url> <token>. Prints one JSON object with what the
client saw; a Python exception other than the ones a scenario expects fails the run.
"""
import json
import sys

import github


def client(base_url, token):
    # login_or_token: what PyGithub 1.55 (Debian's python3-github) takes; later versions too.
    return github.Github(login_or_token=token, base_url=base_url, retry=None)


def hypermedia(base_url, token):
    """Every call here follows a URL the server wrote into a body or a Link header."""
    repo = client(base_url, token).get_repo("acme/app")
    issues = repo.get_issues()
    numbers = [issue.number for issue in issues]
    contents = repo.get_contents("README.md")
    return {
        "full_name": repo.full_name,
        "issues": numbers,
        "total_count": issues.totalCount,
        "readme": contents.decoded_content.decode("utf-8"),
        # Not in the repository's embedded owner: completed lazily from owner.url.
        "owner_name": repo.owner.name,
    }


def raised(call):
    try:
        call()
    except github.GithubException as error:
        return {
            "exception": type(error).__name__,
            "status": error.status,
            "message": (error.data or {}).get("message"),
            "detail": (error.data or {}).get("detail"),
        }
    return {"exception": None}


def errors(base_url, token):
    return {
        "unknown_token": raised(lambda: client(base_url, "not-a-client").get_repo("acme/app")),
        "rate_limited": raised(lambda: client(base_url, token).get_repo("acme/app")),
    }


SCENARIOS = {"hypermedia": hypermedia, "errors": errors}

if __name__ == "__main__":
    scenario, base, client_token = sys.argv[1:4]
    print(json.dumps(SCENARIOS[scenario](base, client_token)))
