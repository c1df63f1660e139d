"""Names shared by the runner (no Locust import: it would gevent-patch the caller) and the
Locust-side modules."""

LOG_DIR_ENV = "FLEXCHAOS_REQUEST_LOG_DIR"
# Connection and network timeout of one Locust request, wall seconds (default 5). The harness
# sets it from flexchaos/request_timeouts.py: a request to a VM that is not running gets no
# answer and fails after exactly this long, so it bounds the measured errors and latency.
TIMEOUT_ENV = "FLEXCHAOS_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 5.0
