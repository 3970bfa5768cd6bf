# One RouterHub image for every service; the command chooses which (compose and Kubernetes set it):
#   node --initial-old-space-size=128 dist/services/ingress/main.js | node --initial-old-space-size=128 dist/services/worker/main.js | node dist/services/dashboard/main.js
#   node dist/services/doctor/main.js (npm run doctor) | node dist/services/keys/main.js | node dist/services/admin/main.js
# Debian slim, not Alpine: uWebSockets.js ships glibc binaries.

# Build: every dependency, tsc, the dashboard's web app (esbuild), then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY libs libs
COPY services services
COPY deploy deploy
COPY bench bench
RUN node node_modules/typescript/bin/tsc -p tsconfig.json \
 && node libs/dashboard/build.mjs \
 && rm -rf dist/bench dist/services/tests \
 && find dist -name '*.test.js' -delete -o -name '*.test.js.map' -delete \
 && npm prune --omit=dev --no-audit --no-fund

# Runtime: production dependencies and the compiled output only, as the unprivileged `node` user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The default catalog (ROUTERHUB_MODELS replaces it) and the Codex request doctor sends.
COPY deploy/models.json deploy/models.json
COPY libs/providers/fixtures/codex libs/providers/fixtures/codex
USER node
EXPOSE 8080 8081 9091
CMD ["node", "--initial-old-space-size=128", "dist/services/ingress/main.js"]
