# syntax=docker/dockerfile:1
#
# github-proxy as a container: one compiled executable, run as a non-root user.
#
#   docker build -t github-proxy .
#   docker build -t github-proxy --build-arg GITHUB_API_URL=https://ghe.example.com/api/v3 .
#   docker run -p 8080:8080 --env-file github-proxy.env \
#     -v "$PWD/registry.yaml:/etc/github-proxy/registry.yaml:ro" -v github-proxy-state:/var/lib/github-proxy github-proxy
#
# Credentials (GITHUB_PAT_<NAME>, GITHUB_APP_<NAME>_ID/_PEM[/_INSTALLATION_ID]) and registry
# template variables are found when the container starts: pass them with -e/--env-file, or as
# files named like the variables under /run/secrets (Docker or Kubernetes secrets; re-read on
# SIGHUP). Nothing about them is baked in.
#
# The binary's other Deno permissions are computed at build time from the ARGs below
# (scripts/launch.ts) and baked in: network access to the GitHub host, the cache host and the
# listen address only; read access to the registry file and the credential directories;
# read/write to the state directory. At start-up it refuses a host or path outside that
# allowlist, naming the variable and the --build-arg to rebuild with.
#
# GitHub Enterprise Server with an internal CA: give the CA at run time, not as a build arg
# (docs/deployment.md, "An internal CA"):
#   docker run -e DENO_CERT=/etc/github-proxy/internal-ca.pem \
#     -v "$PWD/internal-ca.pem:/etc/github-proxy/internal-ca.pem:ro" … github-proxy
# or -e DENO_TLS_CA_STORE=system for the image's system store. The runtime reads both at start.

FROM node:20-bookworm-slim AS builder
WORKDIR /src
COPY .deno-version ./
RUN npm install -g "deno@$(cat .deno-version)"
COPY deno.json deno.lock ./
COPY main.ts mod.ts ./
COPY src ./src
COPY scripts ./scripts
ARG GITHUB_API_URL=https://api.github.com
ARG CACHE_BACKEND_URL=denokv://
ARG BIND=0.0.0.0
ARG PORT=8080
ARG CLIENT_REGISTRY_FILE_PATH=/etc/github-proxy/registry.yaml
ARG STATE_DIRECTORY=/var/lib/github-proxy
RUN deno task compile \
  && mkdir -p "/out${STATE_DIRECTORY}"

FROM gcr.io/distroless/cc-debian12:nonroot
ARG GITHUB_API_URL=https://api.github.com
ARG CACHE_BACKEND_URL=denokv://
ARG BIND=0.0.0.0
ARG PORT=8080
ARG CLIENT_REGISTRY_FILE_PATH=/etc/github-proxy/registry.yaml
ARG STATE_DIRECTORY=/var/lib/github-proxy
ENV GITHUB_API_URL=${GITHUB_API_URL} \
  CACHE_BACKEND_URL=${CACHE_BACKEND_URL} \
  BIND=${BIND} \
  PORT=${PORT} \
  CLIENT_REGISTRY_FILE_PATH=${CLIENT_REGISTRY_FILE_PATH} \
  STATE_DIRECTORY=${STATE_DIRECTORY}
COPY --from=builder /src/github-proxy /usr/local/bin/github-proxy
COPY --from=builder --chown=65532:65532 /out${STATE_DIRECTORY} ${STATE_DIRECTORY}
USER 65532:65532
VOLUME ["/var/lib/github-proxy"]
EXPOSE 8080
# SIGTERM drains in-flight requests (DRAIN_TIMEOUT, default 25 s): give docker stop -t 30.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/github-proxy"]
