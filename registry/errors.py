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


class ResourceConflict(PodiumError):
    """The request is well formed but clashes with what the store holds."""

    error_code = "RESOURCE_CONFLICT"
    http_status = 409


class TemporarilyUnavailable(PodiumError):
    """A condition that passes on its own (a busy or unreachable database): retry later.

    Answered with a Retry-After header of `retry_after` seconds.
    """

    error_code = "TEMPORARILY_UNAVAILABLE"
    http_status = 503

    def __init__(self, message: str, *, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class StorageFull(PodiumError):
    """The artifact root or the database has no space left; writes resume once it has."""

    error_code = "RESOURCE_EXHAUSTED"
    http_status = 507  # Insufficient Storage (RFC 4918)


class Unauthenticated(PodiumError):
    """No credentials, or credentials that match no user or token: answered with a challenge."""

    error_code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(PodiumError):
    """The caller is known but may not do this."""

    error_code = "PERMISSION_DENIED"
    http_status = 403


class TooManyAttempts(PodiumError):
    """Too many failed sign-ins for one user name from one address: wait `retry_after` seconds."""

    error_code = "REQUEST_LIMIT_EXCEEDED"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
