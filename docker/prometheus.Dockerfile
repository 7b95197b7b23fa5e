# Prometheus from Debian's package, for docker/compose.yaml. BASE: any Debian or Ubuntu image with apt that
# reaches its package mirror (docker/local-images.sh passes its debootstrap base, so no image registry is needed).
#   docker build -f docker/prometheus.Dockerfile -t proofmesh-prometheus:local docker
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# policy-rc.d: the package must not try to start the service inside the build
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
  && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
  && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
USER prometheus
WORKDIR /var/lib/prometheus
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9090"]
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/var/lib/prometheus/metrics2", "--web.listen-address=:9090"]
