"""Names shared by the runner (no Locust import: it would gevent-patch the caller) and the
Locust-side modules."""

LOG_DIR_ENV = "FLEXCHAOS_REQUEST_LOG_DIR"
