# Discretion's server: `discretion serve` on a slim Python, as a non-root user.
# The rules baked in at /etc/discretion/rules are a default; Kubernetes mounts
# a ConfigMap over them (deploy/k8s).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
# Installed the way the README says, into a virtual environment the runtime
# stage copies whole (same path, so its scripts keep working); with OpenTelemetry,
# off until OTEL_EXPORTER_OTLP_ENDPOINT is set.
RUN python -m venv /opt/discretion \
 && /opt/discretion/bin/pip install --no-cache-dir '.[otel]'

FROM python:3.11-slim-bookworm
COPY --from=build /opt/discretion /opt/discretion
COPY rules /etc/discretion/rules
# The image does not build the native engine yet (its crate needs a newer Rust
# than Debian ships): the Python evaluator, which answers alike, decides.
ENV PATH=/opt/discretion/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DISCRETION_ENGINE=reference \
    DISCRETION_ADDRESS=[::]:50051 \
    DISCRETION_METRICS_ADDRESS=[::]:9464 \
    DISCRETION_RULES=/etc/discretion/rules \
    DISCRETION_PLAINTEXT=1
USER 10001:10001
EXPOSE 50051 9464
# No shell in the way: the server's own health service, asked by its own command (readiness: the rules compiled).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s CMD ["discretion", "health"]
ENTRYPOINT ["discretion", "serve"]
