# syntax=docker/dockerfile:1
# Tessera: multi-stage build. The build stage installs everything, generates the Prisma client and
# compiles TypeScript (the service and its commands: dist/src, dist/scripts; first the workspace package
# @tessera/verify, packages/verify/dist, whose token contract the service imports); the deps stage installs the
# production dependencies where the build tools are; the runtime stage copies both and runs as `node` (uid 1000).
# .ci/image-replay replays these steps without a Docker engine, in the same order: change both together.
#
#   docker build -t tessera .
#   docker run -p 3000:3000 \
#     -e ISSUER=https://auth.example.com -e AUDIENCE=api \
#     -e DATABASE_URL=postgres://tessera:…@db:5432/tessera \
#     -v /secure/tessera-keys:/keys \
#     tessera
# The image sets NODE_ENV=production, HOST=0.0.0.0 (reachable through -p), KEYS_DIR=/keys; ISSUER (the public
# origin) is required. Keys are never baked into the image: mount them. Create the first ones, and rotate later, with
#   docker run --rm -v /secure/tessera-keys:/keys tessera node dist/scripts/keys.js generate | list | rotate | rotate-refresh
# (`generate` also makes the refresh-token MAC key; a read-only mount without one is a boot error.)
# The service runs as uid 1000: a key folder it may write (to keep a next key ready, and rotate by itself with
# KEY_ROTATION_DAYS) must be writable by uid 1000 (`chown -R 1000:1000 /secure/tessera-keys`); mounted read-only
# (:ro) it only needs to be readable, and rotation is done with the command above.
# Without DATABASE_URL the embedded PGlite database lives in /app/data: mount a volume there (a named volume
# starts owned by uid 1000; a host folder must be chowned like the keys).

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS toolchain
WORKDIR /app
# python3/make/g++ only in case argon2 has no prebuilt binary for the platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*

FROM toolchain AS build
COPY package.json package-lock.json ./
COPY packages/verify/package.json ./packages/verify/
COPY packages/client/package.json ./packages/client/
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages/verify ./packages/verify
COPY packages/client ./packages/client
COPY src ./src
RUN npm run build

FROM toolchain AS deps
# Production dependencies, installed beside the build tools (argon2 compiles here if it must).
# --omit=optional too: prisma (the CLI) is an optional peer of @prisma/client, so the lockfile marks it and its
# tree (typescript included) devOptional, which --omit=dev alone keeps. The workspace's package.json is
# enough here: npm links node_modules/@tessera/verify to ./packages/verify, which the runtime stage fills. Without the CLI, the postinstall skips
# client generation; the generated client comes compiled in dist from the build stage.
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY packages/verify/package.json ./packages/verify/
COPY packages/client/package.json ./packages/client/
COPY scripts/generate-client.mjs ./scripts/
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own malloc arena, and an arena keeps what it
# once held; argon2's 19 MiB blocks, hashed on the thread pool's threads, stayed in each thread's arena after a
# burst of logins (docs/operations-boot-and-memory.md#malloc-arenas).
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 KEYS_DIR=/keys DATABASE_URL=pglite:/app/data MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY packages/verify/package.json ./packages/verify/
COPY --from=build /app/packages/verify/dist ./packages/verify/dist
COPY prisma ./prisma
RUN mkdir -p /app/data /keys && chown node:node /app/data /keys
USER node
EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/server.js"]
