# syntax=docker/dockerfile:1
# credmount's node plugin image: Node.js 24 LTS, production dependencies only, the compiled
# JavaScript, and mount/umount. Build: docker build -t <registry>/credmount:<version> .
# Size estimate and how it was measured: docs/install.md ("The image").

ARG NODE_IMAGE=node:24-slim

# 1. Build: all dependencies (TypeScript, esbuild), compile src/ to dist/src, bundle it into
#    dist/bundle/cli (scripts/bundle.ts says why: start-up time).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY proto ./proto
COPY scripts/bundle.ts ./scripts/
# tsconfig also includes test/ and bench/, which are not in the build context: tsc compiles src/
# and the bundler script.
RUN npx tsc -p tsconfig.json && node dist/scripts/bundle.js && test -f dist/bundle/cli/main.js

# 2. Production dependencies only, installed on the same base so native packages (koffi)
#    match the runtime; koffi's prebuilt binaries for other platforms are removed.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/prune-production-deps.sh /usr/local/bin/
RUN npm ci --omit=dev --no-audit --no-fund \
 && prune-production-deps.sh node_modules \
 && npm cache clean --force

# 3. Runtime.
FROM ${NODE_IMAGE}
# mount(8)/umount(8) from util-linux: the driver mounts tmpfs with mount(2) and falls back to them.
# npm, npx and corepack are not needed at run time: removing them shrinks the image and what an
# attacker could use.
RUN apt-get update \
 && apt-get install -y --no-install-recommends mount \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && mount --version && umount --version
WORKDIR /app
ENV NODE_ENV=production
COPY package.json ./
COPY proto ./proto
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/bundle ./dist/bundle
# Root, on purpose and only because mounting needs it: the driver mounts a tmpfs into each pod's
# volume directory on the host (mount(2) requires CAP_SYS_ADMIN, and the DaemonSet runs it
# privileged so the mounts propagate to kubelet). It needs no other privilege: see
# docs/security-model.md.
USER 0:0
# Node.js flags: src/cli/runtime-flags.ts says why (the benchmarks run the driver with the same ones).
ENTRYPOINT ["node", "--max-semi-space-size=1", "--initial-old-space-size=16", "--heap-growing-percent=30", "--v8-pool-size=1", "--no-maglev-destroy-on-background", "/app/dist/bundle/cli/main.js"]
CMD ["driver"]
