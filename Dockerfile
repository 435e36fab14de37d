# One image for the five services; each Deployment picks its service with `python -m services.<name>`.
# Installed editable so the code finds proto/ and data/ beside it, as in a checkout.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ENVIRONMENT=production HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dispatch_common ./dispatch_common
COPY services ./services
COPY devtools ./devtools
COPY proto ./proto
COPY data ./data
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 dispatch
USER dispatch
CMD ["python", "-m", "services.intake"]
