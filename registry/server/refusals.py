"""gunicorn's own refusals, in MLflow's JSON error shape instead of gunicorn's HTML page.

gunicorn answers a malformed request line (400), a request line over `limit_request_line` (414)
and too many or too large headers (431) itself, before any route runs, so Podium's error
handler never sees them. gunicorn has no setting for that answer; every worker class writes it
through one function, `gunicorn.util.write_error`, which each worker replaces at start with
`write_json_error`. The status and gunicorn's message are kept; the connection still closes.
"""

import json

from gunicorn import util

# MLflow's error codes for the statuses gunicorn answers with; the rest are plain bad requests.
_ERROR_CODES = {
    403: "PERMISSION_DENIED",
    414: "INVALID_PARAMETER_VALUE",
    431: "INVALID_PARAMETER_VALUE",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Write gunicorn's refusal as {"error_code", "message"} with the same status."""
    if status_int == 400 and str(mesg).startswith("Request Line is too large"):
        # gunicorn 26 answers its LimitRequestLine with a plain 400; it is a 414 (RFC 9110).
        status_int, reason = 414, "URI Too Long"
    code = _ERROR_CODES.get(status_int, "BAD_REQUEST" if status_int < 500 else "INTERNAL_ERROR")
    body = json.dumps({"error_code": code, "message": mesg or reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def answer_refusals_in_json(worker) -> None:
    """gunicorn's post_worker_init hook: this worker's refusals are written as JSON."""
    util.write_error = write_json_error
