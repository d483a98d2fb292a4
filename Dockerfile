FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
COPY clients/python clients/python
RUN pip install -r requirements.txt

# msgfmt (GNU gettext) compiles the translations below.
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

COPY . .
# Compiled translations (.mo) are build output, never in git: without them a zh-hans default
# serves English. compilemessages and collectstatic need settings to import; these build-time
# values are discarded. tests/test_dockerfile.py runs this compilemessages line as it stands.
RUN SECRET_KEY=build DSAR_ENCRYPTION_KEYS=MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA= DSAR_HASH_KEY=build DSAR_AUDIT_KEY=build python manage.py compilemessages --ignore=.venv -v 0
RUN SECRET_KEY=build DSAR_ENCRYPTION_KEYS=MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA= \
    DSAR_HASH_KEY=build DSAR_AUDIT_KEY=build python manage.py collectstatic --noinput \
    && useradd --system --home /app dsar && mkdir -p /app/var/exports /app/var/evidence && chown -R dsar /app/var
USER dsar

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
