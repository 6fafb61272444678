# Test tools for pods on the real node: nslookup and dig (Debian's dnsutils) on the same base
# as the product image. Built here by test/support/real-node.ts; never published.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim
FROM ${NODE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dnsutils \
 && rm -rf /var/lib/apt/lists/*
USER 1000:1000
