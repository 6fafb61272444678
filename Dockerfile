# One image for the operator and the resolver: `clusterdns operator ...`, `clusterdns resolver ...`.
# Build: docker build -t ghcr.io/clusterdns/clusterdns:0.1.0 .
# test/integration/image.test.ts runs this file's build steps outside Docker and checks the result.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are skipped: the only one that matters, the `node` devDependency's, fetches
# the Node.js 24 that local development runs on, and this image already is Node.js 24.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund && chmod 0755 dist/src/cli/main.js

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="clusterdns" \
      org.opencontainers.image.description="Several cluster DNS instances side by side: the ClusterDNS operator, its injection webhook and its resolver" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/clusterdns/clusterdns"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN ln -s /app/dist/src/cli/main.js /usr/local/bin/clusterdns
# The image's unprivileged `node` user, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 1053/udp 1053/tcp 8080 8081 8181 9153 9443
ENTRYPOINT ["clusterdns"]
CMD ["--help"]
