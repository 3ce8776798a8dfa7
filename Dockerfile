# syntax=docker/dockerfile:1.7
# TeamTrack on Bun: multi-stage, production dependencies only, non-root, data on a volume.

ARG BUN_VERSION=1.4.5

# --- deps: production node_modules, exactly as package-lock.json (the project's one lockfile) says ------
# npm ci honours the lockfile exactly; no production dependency needs an install script (libSQL ships
# prebuilt glibc binaries as optional packages, which match the Debian-based Bun image below).
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime ---------------------------------------------------------------------------------------
FROM oven/bun:${BUN_VERSION}-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bunfig.toml tsconfig.json ./
COPY src ./src
COPY drizzle ./drizzle
# The image's `bun` user (uid 1000) owns the data volume; the code stays read-only to it.
RUN mkdir -p /data && chown bun:bun /data
USER bun
VOLUME ["/data"]
EXPOSE 3000
# Liveness only: readiness (/health/ready) belongs to the orchestrator, which can route around a
# replica whose database or Redis is down without restarting it.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD bun -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then(r => process.exit(r.ok ? 0 : 1)).catch(() => process.exit(1))"
# Exec form: bun is PID 1 and receives SIGTERM itself, so shutdown is graceful.
CMD ["bun", "src/runtime/bun.ts"]
