"""Podium's exceptions, each with an MLflow error code and the HTTP status MLflow pairs it with."""


class PodiumError(Exception):
    """Base of every error a client may see; rendered as {"error_code", "message"}."""

    error_code = "INTERNAL_ERROR"
    http_status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidParameter(PodiumError):
    error_code = "INVALID_PARAMETER_VALUE"
    http_status = 400


class BadRequest(PodiumError):
    error_code = "BAD_REQUEST"
    http_status = 400


class RequestTooLarge(PodiumError):
    # MLflow has no code for this; REQUEST_LIMIT_EXCEEDED would be 429, which clients retry.
    error_code = "INVALID_PARAMETER_VALUE"
    http_status = 413


class RequestTimeout(PodiumError):
    # MLflow has no code for this; its client does not retry a 408.
    error_code = "BAD_REQUEST"
    http_status = 408


class ResourceAlreadyExists(PodiumError):
    error_code = "RESOURCE_ALREADY_EXISTS"
    http_status = 400  # MLflow's table: 400, not 409


class ResourceDoesNotExist(PodiumError):
    error_code = "RESOURCE_DOES_NOT_EXIST"
    http_status = 404


class EndpointNotFound(PodiumError):
    error_code = "ENDPOINT_NOT_FOUND"
    http_status = 404


class MethodNotAllowed(PodiumError):
    error_code = "ENDPOINT_NOT_FOUND"
    http_status = 405


class PolicyViolation(PodiumError):
    """Raised by a before_* signal receiver to veto a change (see hooks.signals)."""

    error_code = "PERMISSION_DENIED"
    http_status = 403


class TemporarilyUnavailable(PodiumError):
    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503
