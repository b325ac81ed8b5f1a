# watcher: the daemon and its command line in one slim image, running as a non-root user.
#
#   docker build -t watcher .
#   docker run --rm -v watcher-data:/data watcher validate
#   docker run -d -v watcher-data:/data -p 127.0.0.1:9108:9108 watcher run --http 0.0.0.0:9108
#
# The project is installed in place (editable) under /app: the Alembic migrations
# (db/migrations), the shipped sources/, rules/ and db/baseline.yaml are found beside the
# package, as in a checkout. Data (the SQLite database and the pid file) lives in /data.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATCHER_DATABASE_URL=sqlite:////data/watcher.db

RUN useradd --system --uid 10001 --user-group --home-dir /data --create-home watcher

WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
COPY db ./db
COPY sources ./sources
COPY rules ./rules
RUN pip install -e . && rm -rf /root/.cache
# `watcher run` runs under -OO (watcher/service/relaunch.py): give it compiled bytecode, as the
# image writes none at run time (PYTHONDONTWRITEBYTECODE, a read-only install).
RUN python -OO -m compileall -q /usr/local/lib/python3.11 /app/watcher > /dev/null || true

USER watcher
VOLUME ["/data"]
EXPOSE 9108
ENTRYPOINT ["watcher"]
CMD ["run"]
