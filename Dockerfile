# Production image of amlmon. The RUN steps are scripts that tests/ops/test_image.py also
# runs, so the image's build cannot rot unnoticed on machines without a Docker engine.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY monitor ./monitor
COPY models ./models
COPY migrations ./migrations
COPY scripts/docker ./scripts/docker
RUN scripts/docker/build-wheels.sh /wheels /src

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 amlmon
COPY --from=build /wheels /wheels
COPY scripts/docker/install-wheels.sh /usr/local/bin/install-wheels.sh
RUN install-wheels.sh /wheels && rm -rf /wheels
WORKDIR /app
COPY config ./config
USER amlmon
ENV AMLMON_API_HOST=0.0.0.0 AMLMON_LOG_FORMAT=json
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"
ENTRYPOINT ["amlmon"]
CMD ["run"]
