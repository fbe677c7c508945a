"""Exceptions of the heapa Python client.

Every error the daemon returns is a `HeapaError` carrying the wire `code` (a `Code` member)
and the daemon's `message`; each code has its own subclass, so callers can catch exactly
what they handle (`except heapa.NotFoundError`). Failures of the connection itself (nothing
listening, a timeout, a broken socket, retries exhausted) are `UnavailableError`; a request
that may or may not have been applied (the daemon's write failed, or a mutation was sent and
never answered) is `UnknownOutcomeError`.
"""

from __future__ import annotations

from typing import Dict, Type

from heapa.types import Code


class HeapaError(Exception):
    """An error from heapad or the connection to it: `code` (Code) and `message` (str)."""

    code: Code = Code.INTERNAL

    def __init__(self, message: str, code: "Code | None" = None):
        if code is not None:
            self.code = Code(code)
        self.message = message
        super().__init__(f"{self.code.name}: {message}")


class NotFoundError(HeapaError):
    code = Code.NOT_FOUND


class AlreadyExistsError(HeapaError):
    code = Code.ALREADY_EXISTS


class InvalidArgumentError(HeapaError):
    code = Code.INVALID_ARGUMENT


class FailedPreconditionError(HeapaError):
    code = Code.FAILED_PRECONDITION


class ResourceExhaustedError(HeapaError):
    code = Code.RESOURCE_EXHAUSTED


class CorruptionError(HeapaError):
    code = Code.CORRUPTION


class LostWritesError(CorruptionError):
    """A daemon reported a durable sequence below one this client already saw (R6)."""


class IOErrorError(HeapaError):
    code = Code.IO_ERROR


class UnavailableError(HeapaError):
    """The daemon cannot be reached, timed out, or is stopping; or a pool is degraded."""

    code = Code.UNAVAILABLE


class InternalError(HeapaError):
    code = Code.INTERNAL


class UnknownOutcomeError(HeapaError):
    """The request may or may not have been applied."""

    code = Code.UNKNOWN_OUTCOME


class BadRequestError(HeapaError):
    code = Code.BAD_REQUEST


class UnsupportedVersionError(HeapaError):
    code = Code.UNSUPPORTED_VERSION


class UnauthenticatedError(HeapaError):
    code = Code.UNAUTHENTICATED


class TooManyConnectionsError(HeapaError):
    code = Code.TOO_MANY_CONNECTIONS


class FrameTooLargeError(HeapaError):
    code = Code.FRAME_TOO_LARGE


_BY_CODE: Dict[int, Type[HeapaError]] = {
    cls.code: cls
    for cls in (NotFoundError, AlreadyExistsError, InvalidArgumentError, FailedPreconditionError,
                ResourceExhaustedError, CorruptionError, IOErrorError, UnavailableError,
                InternalError, UnknownOutcomeError, BadRequestError, UnsupportedVersionError,
                UnauthenticatedError, TooManyConnectionsError, FrameTooLargeError)
}


def error_for(code: int, message: str) -> HeapaError:
    """The exception for a non-OK wire code (an unknown code becomes a plain HeapaError)."""
    cls = _BY_CODE.get(int(code))
    if cls is not None:
        return cls(message)
    try:
        return HeapaError(message, Code(code))
    except ValueError:
        return HeapaError(f"unknown wire code {code}: {message}", Code.INTERNAL)
