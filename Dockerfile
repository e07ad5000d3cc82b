# syntax=docker/dockerfile:1
# Tessera: multi-stage build. The build stage installs everything, generates the Prisma client and
# compiles TypeScript; the runtime stage has production dependencies only and runs as a non-root user.
#
#   docker build -t tessera .
#   docker run -p 3000:3000 \
#     -e NODE_ENV=production -e HOST=0.0.0.0 -e ISSUER=https://auth.example.com -e AUDIENCE=api \
#     -e DATABASE_URL=postgres://tessera:…@db:5432/tessera \
#     -v /secure/tessera-keys:/keys -e KEYS_DIR=/keys \
#     tessera
# Keys are never baked into the image: mount them. Create the first ones, and rotate later, with
#   docker run --rm -v /secure/tessera-keys:/keys tessera node dist/scripts/keys.js generate | list | rotate | rotate-refresh
# (`generate` also makes the refresh-token MAC key; a read-only mount without one is a boot error.)
# Mounted writable, the service keeps a next key ready (and rotates by itself with KEY_ROTATION_DAYS);
# mounted read-only (:ro) it only reads the keys and rotation is done with the command above.
# Without DATABASE_URL the embedded PGlite database lives in /app/data: mount a volume there.

ARG NODE_VERSION=20.20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# python3/make/g++ only in case argon2 has no prebuilt binary for the platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 KEYS_DIR=/keys DATABASE_URL=pglite:/app/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
# Production dependencies only; the postinstall step skips client generation (no prisma CLI here),
# the generated client comes compiled from the build stage.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY prisma ./prisma
RUN mkdir -p /app/data /keys && chown -R node:node /app/data /keys
USER node
EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/server.js"]
