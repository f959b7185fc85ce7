# syntax=docker/dockerfile:1
# userhub in a container: built with the bundled libpq and SQLite (no
# system database libraries at run time), run as a non-root user on
# debian:bookworm-slim, health-checked on /healthz. See docs/operations.md
# (Containers) and docker-compose.yml.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY migrations migrations
RUN cargo build --release --locked -p userhub-api --bin userhub \
    && cp target/release/userhub /usr/local/bin/userhub

FROM debian:bookworm-slim
# curl: the HEALTHCHECK's client; ca-certificates for anything over TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/userhub --create-home userhub
COPY --from=build /usr/local/bin/userhub /usr/local/bin/userhub
# Numeric, so that runAsNonRoot-style checks can verify it without /etc/passwd.
USER 10001
# The default SQLite database (data/userhub.db) lands here, owned by userhub.
WORKDIR /var/lib/userhub
ENV USERHUB_BIND=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["userhub"]
CMD ["serve"]
