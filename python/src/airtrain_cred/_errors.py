"""Typed errors that mirror credd's wire error codes."""

from typing import Dict, Optional, Type


class CredError(Exception):
    """Base class of every error the client raises.

    ``code`` is the wire error code (``"locked"``, ``"not_found"``, ...) or,
    for failures found on this side of the socket, one of ``"no_agent"``,
    ``"unsafe_socket"``, ``"timeout"`` and ``"protocol"``. ``message`` is
    the daemon's (or the client's) explanation; it never holds a secret.
    """

    code = "error"

    def __init__(self, message: str = "", code: Optional[str] = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if not self.message:
            return self.code
        return "%s: %s" % (self.code, self.message)

    def __repr__(self) -> str:
        return "%s(code=%r, message=%r)" % (type(self).__name__, self.code, self.message)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (type(self), self.message, self.code, dict(self.__dict__)))


def _rebuild(cls, message, code, state):  # type: ignore[no-untyped-def]
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, CredError.__str__(err))
    return err


class LockedError(CredError):
    """The agent is locked: run ``credctl unlock``."""

    code = "locked"


class NotFoundError(CredError):
    """No credential (or field) has that name."""

    code = "not_found"


class DeniedError(CredError):
    """The agent refused this process or this request."""

    code = "denied"


class InvalidError(CredError):
    """The request was understood but its content is not acceptable."""

    code = "invalid"


class BadRequestError(CredError):
    """The agent could not read the request (a name that is not valid, for instance)."""

    code = "bad_request"


class BusyError(CredError):
    """The agent serves too many connections; try again."""

    code = "busy"


class BackendUnavailableError(CredError):
    """The agent's storage (OS keyring or encrypted file) did not answer."""

    code = "backend_unavailable"


class AuditUnavailableError(CredError):
    """The agent could not write its audit record, so it did not answer."""

    code = "audit_unavailable"


class ProtocolError(CredError):
    """The agent's reply could not be understood, or the connection broke mid-reply."""

    code = "protocol"


class AgentTimeoutError(CredError, TimeoutError):
    """The agent did not answer within the client's timeout."""

    code = "timeout"


class UnsafeSocketError(CredError):
    """The socket or its folder could be reached or replaced by another user.

    Nothing was sent. ``socket`` is the path that was refused.
    """

    code = "unsafe_socket"

    def __init__(self, message: str = "", socket: str = "") -> None:
        self.socket = socket
        super().__init__(message)


class NoAgentError(CredError):
    """No agent answered on the socket.

    ``socket`` is the path tried and ``reason`` why it failed; the message
    says how to start an agent.
    """

    code = "no_agent"

    def __init__(self, socket: str = "", reason: str = "") -> None:
        self.socket = socket
        self.reason = reason
        msg = "no credd agent at %s" % socket
        if reason:
            msg += " (%s)" % reason
        msg += "; start one with `credctl start` (or `credd &`), or set AIRTRAIN_CRED_SOCK"
        super().__init__(msg)


_BY_CODE: Dict[str, Type[CredError]] = {
    cls.code: cls
    for cls in (
        LockedError,
        NotFoundError,
        DeniedError,
        InvalidError,
        BadRequestError,
        BusyError,
        BackendUnavailableError,
        AuditUnavailableError,
    )
}


def from_wire(code: str, message: str) -> CredError:
    """Return the typed error for a wire error code; unknown codes give a CredError."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return CredError(message, code=code or "internal")
    return cls(message)
