# The Rasa server (Rasa 3.6 needs Python 3.10) with the model trained at build time from
# chatbot/project; the action server runs from the main image (docker/Dockerfile).
FROM python:3.10-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY chatbot/requirements-rasa.txt /tmp/requirements-rasa.txt
RUN pip install --no-cache-dir -r /tmp/requirements-rasa.txt
RUN useradd --system --home /app rasa
WORKDIR /app
COPY chatbot/project /app
RUN rasa train --fixed-model-name enlace --out /app/models && chown -R rasa /app
USER rasa
ENV TF_CPP_MIN_LOG_LEVEL=3
EXPOSE 5005
CMD ["rasa", "run", "--enable-api", "--model", "/app/models/enlace.tar.gz", "--port", "5005", "--endpoints", "endpoints.yml"]
