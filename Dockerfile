FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
COPY clients/python clients/python
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings to import; these build-time values are discarded.
RUN SECRET_KEY=build DSAR_ENCRYPTION_KEYS=$(python -c "import base64;print(base64.urlsafe_b64encode(b'0'*32).decode())") \
    DSAR_HASH_KEY=build DSAR_AUDIT_KEY=build python manage.py collectstatic --noinput \
    && useradd --system --home /app dsar && mkdir -p /app/var/exports && chown -R dsar /app/var
USER dsar

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "-b", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
