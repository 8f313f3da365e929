# syntax=docker/dockerfile:1
# Realtime ticket-lock service image.
#   docker build -t realtime-ticket-lock .
#   docker run -p 8880:8880 -e REDIS_URL=redis://… -e JWT_SECRET=… -e WEBSOCKET_CORS_ORIGIN=https://app.example realtime-ticket-lock
# NODE_ENV=production is the image default: REDIS_URL, a JWT key and an explicit CORS allow-list are then required
# (the service refuses to start without them and names the missing variable).

ARG NODE_IMAGE=node:20-alpine

# ---- build: full install, compile, then drop dev dependencies ------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime: compiled JS, production node_modules, the demo catalog -----------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    WEBSOCKET_PORT=8880
WORKDIR /app
# package.json is needed at run time: "type": "module" and the "#config"/"#lock-domain"/… import map
# (its "default" condition points into dist/).
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY catalog ./catalog
# The demo page (GET /) and the socket.io-client browser bundle it loads from node_modules.
COPY apps/realtime/public ./apps/realtime/public
# Files stay root-owned and read-only for the process; it runs as the image's unprivileged "node" user.
USER node
EXPOSE 8880
# Liveness only (/health); /ready tells whether Redis and RabbitMQ answer. busybox wget ships with alpine.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${WEBSOCKET_PORT:-8880}/health" || exit 1
# node directly (no npm wrapper) so SIGTERM reaches the process and it can shut down gracefully.
CMD ["node", "dist/apps/realtime/src/main.js"]
