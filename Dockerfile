# syntax=docker/dockerfile:1.7-labs
# One image, two commands:
#   docker run switchboard                               the gateway (default)
#   docker run switchboard apps/bridge/dist/main.js      the bridge
# Both read their configuration from the environment (see the README's option reference).

ARG NODE_IMAGE=node:20-bookworm-slim

# Every dependency, dev ones included: esbuild bundles the apps and the web pages here.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first, so source edits do not invalidate the npm layer.
COPY --parents package.json package-lock.json libs/*/package.json apps/*/package.json tools/package.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN node scripts/bundle.mjs && npm run build --workspace @switchboard/web

# Only what the bundles import at run time: `dependencies` of the root and the workspaces.
FROM ${NODE_IMAGE} AS production-deps
WORKDIR /app
COPY --parents package.json package-lock.json libs/*/package.json apps/*/package.json tools/package.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to node (which drains) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
# --max-semi-space-size: V8's young generation grows to 2 × 16 MiB under a burst of joins and its
# pages stay resident; capped at 2 × 4 MiB a node's RSS per idle connection drops by about a
# quarter to a third at no measured CPU cost (test/bench/RESULTS.md). A launch flag: V8 ignores it
# at run time. The dev launcher (tools/dev/cluster.ts) and the benches (test/bench/app-launch.ts)
# start the apps with the same value.
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=4" \
    HOST=0.0.0.0 \
    PORT=4000 \
    WEB_ROOT=/app/apps/web/dist
WORKDIR /app
# Files stay owned by root: the unprivileged process can read its code but not change it.
COPY --from=production-deps /app/package.json ./
COPY --from=production-deps /app/node_modules ./node_modules
# The apps' package.json carry "type": "module" for their dist/main.js.
COPY --from=production-deps /app/apps/gateway/package.json apps/gateway/
COPY --from=production-deps /app/apps/bridge/package.json apps/bridge/
COPY --from=build /src/apps/gateway/dist apps/gateway/dist
COPY --from=build /src/apps/bridge/dist apps/bridge/dist
COPY --from=build /src/apps/web/dist apps/web/dist
COPY tools/docker/healthcheck.mjs tools/docker/healthcheck.mjs
# The node image's own unprivileged user (uid 1000), the one the Helm chart runs as.
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "tools/docker/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
CMD ["apps/gateway/dist/main.js"]
