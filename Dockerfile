# Bureau: one image for every role (serve, api, worker, migrate). Non-root, slim.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install ".[postgres,redis]"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --user-group bureau
COPY --from=build /install /usr/local
USER 10001:10001
WORKDIR /home/bureau
ENV BUREAU_DATA_DIR=/home/bureau/data \
    BUREAU_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
ENTRYPOINT ["bureau"]
CMD ["serve"]
