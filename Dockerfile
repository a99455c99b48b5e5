# authkeep's container image: built in Rust's image, run from a small Debian one as a user
# without privileges. The embedded default (SQLite) keeps its file in /var/lib/authkeep.
#
#   docker build -t authkeep:latest .
#   docker run -p 3000:3000 -e BETTER_AUTH_SECRET="$(openssl rand -base64 32)" \
#     -e BETTER_AUTH_URL=https://auth.example.com authkeep:latest
# It runs in production mode (JSON logs, no mail bodies in them, a strong secret required);
# AUTHKEEP_ENV=development undoes that for a local try.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN cargo build --release --locked -p authkeep --bin authkeep \
 && strip target/release/authkeep

FROM debian:bookworm-slim
# CA certificates for TLS to PostgreSQL, SMTP and identity providers that use the system's
# roots (authkeep carries the public CAs too).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/authkeep --create-home authkeep
COPY --from=build /src/target/release/authkeep /usr/local/bin/authkeep
USER authkeep
WORKDIR /var/lib/authkeep
ENV AUTHKEEP_LISTEN=0.0.0.0:3000 \
    AUTHKEEP_ENV=production
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/authkeep", "healthcheck", "--url", "http://127.0.0.1:3000/ready"]
ENTRYPOINT ["/usr/local/bin/authkeep"]
CMD ["serve"]
