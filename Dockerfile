# Production image (completed by the operations work: multi-stage build, healthcheck).
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 amlmon
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY monitor ./monitor
COPY models ./models
COPY migrations ./migrations
COPY config ./config
RUN pip install --no-cache-dir .
USER amlmon
ENTRYPOINT ["amlmon"]
CMD ["--help"]
