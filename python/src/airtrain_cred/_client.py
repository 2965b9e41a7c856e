"""The connection to credd and the calls made over it."""

import errno
import json
import os
import socket as _socket
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from . import _paths
from ._errors import (
    AgentTimeoutError,
    CredError,
    NoAgentError,
    NotFoundError,
    ProtocolError,
    from_wire,
)
from ._secret import Secret
from ._types import (
    Credential,
    CredentialInfo,
    Hello,
    Status,
    credential_from,
    hello_from,
    info_from,
    status_from,
)

AGENT_ENV = "AIRTRAIN_AGENT"
SKILL_ENV = "AIRTRAIN_SKILL"

# How long one call may take, connecting included, unless told otherwise.
DEFAULT_TIMEOUT = 30.0

# The longest reply line accepted; the daemon's request limit is 1 MiB and a
# reply may hold several values, so the Go client allows four times that.
MAX_REPLY = 4 << 20

_CHUNK = 64 << 10

# Errors that mean a kept connection was closed by the daemon (a restart,
# an idle timeout) before the request was read.
_STALE_ERRNOS = {errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ECONNABORTED}


class _Stale(Exception):
    """The connection was closed before a reply began."""


def _wipe(buf: bytearray) -> None:
    for i in range(len(buf)):
        buf[i] = 0


class Client:
    """A connection to one credd agent.

    The socket is ``socket`` when given, else ``$AIRTRAIN_CRED_SOCK``, else
    ``$XDG_RUNTIME_DIR/airtrain/credd.sock``, else
    ``<tempdir>/airtrain-<uid>/credd.sock``. Before connecting, the socket
    and its folder must belong to the current user and be closed to everyone
    else; otherwise :class:`UnsafeSocketError` is raised and nothing is
    sent.

    ``agent`` and ``skill`` label every request for the audit log (default
    ``$AIRTRAIN_AGENT`` and ``$AIRTRAIN_SKILL``); they are self-reported and
    prove nothing. ``timeout`` bounds each call in seconds, connecting
    included; None waits forever.

    The client opens one connection on first use and reuses it; calls from
    several threads take turns on it. Use it as a context manager, or call
    :meth:`close`, to close the connection.
    """

    def __init__(
        self,
        socket: Optional[str] = None,
        *,
        agent: Optional[str] = None,
        skill: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._socket = _paths.socket_path(socket)
        self.agent = agent if agent else os.environ.get(AGENT_ENV, "")
        self.skill = skill if skill else os.environ.get(SKILL_ENV, "")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn = None  # type: Optional[_socket.socket]
        self._pid = 0
        self._rbuf = bytearray()
        self._next_id = 0
        self._closed = False

    @property
    def socket(self) -> str:
        """The socket path this client uses."""
        return self._socket

    def __repr__(self) -> str:
        return "Client(socket=%r, agent=%r, skill=%r)" % (self._socket, self.agent, self.skill)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close the connection. Further calls raise ValueError."""
        with self._lock:
            self._drop()
            self._closed = True

    # Operations.

    def hello(self) -> Hello:
        """Ask the agent for its protocol version and name."""
        return hello_from(self.call("hello"))

    def status(self) -> Status:
        """Report whether the agent is locked, how many credentials it holds, until when."""
        return status_from(self.call("status"))

    def list(self) -> List[CredentialInfo]:
        """Describe every stored credential, without values."""
        reply = self.call("list")
        entries = reply.get("credentials") or []
        if not isinstance(entries, list):
            raise ProtocolError("list reply has no credentials array")
        return [info_from(e) for e in entries]

    def get(self, name: str) -> Credential:
        """Return the named credential with all its fields, values as Secrets."""
        reply = self.call("get", name=name)
        if reply.get("credential") is None:
            raise ProtocolError("get reply without credential")
        return credential_from(reply["credential"])

    def value(self, name: str, field: Optional[str] = None) -> Secret:
        """Return one value of the named credential as a Secret.

        Without ``field``, the credential's main secret (its type says
        which field that is); with it, that field.
        """
        if not field:
            cred = self.get(name)
            main = cred.secret()
            for fld, val in cred.fields.items():
                if fld != cred.main:
                    val.wipe()
            if main is None:
                raise NotFoundError(
                    "credential %r has no main secret; name a field" % name)
            return main
        reply = self.call("get", name=name, field=field)
        raw = reply.get("value")
        if not isinstance(raw, str):
            raise ProtocolError("get reply without value")
        return Secret(raw)

    # The wire.

    def call(self, op: str, **members: Any) -> Dict[str, Any]:
        """Send one request and return the reply's members as a dict.

        The id and the agent and skill labels are filled in. A daemon error
        is raised as the matching :class:`CredError` subclass. Members whose
        value is None are left out.
        """
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with self._lock:
            if self._closed:
                raise ValueError("call on a closed credd client")
            self._next_id += 1
            req_id = self._next_id
            req = {"id": req_id, "op": op}  # type: Dict[str, Any]
            if self.agent:
                req["agent"] = self.agent
            if self.skill:
                req["skill"] = self.skill
            for key, val in members.items():
                if val is not None:
                    req[key] = val
            line = bytearray(json.dumps(req, separators=(",", ":")).encode("utf-8"))
            line += b"\n"
            try:
                reply = self._exchange(line, deadline)
            finally:
                _wipe(line)
            try:
                return self._check(reply, req_id)
            except ProtocolError:
                self._drop()
                raise

    def _exchange(self, line: bytearray, deadline: Optional[float]) -> Dict[str, Any]:
        # A kept connection may have been closed by the daemon (restart,
        # shutdown); one retry on a fresh connection covers that. A fresh
        # connection is not retried.
        for attempt in (0, 1):
            conn, reused = self._connection(deadline)
            try:
                return self._round_trip(conn, line, deadline)
            except _Stale as e:
                self._drop()
                if reused and attempt == 0:
                    continue
                raise ProtocolError("talk to credd at %s: %s" % (self._socket, e)) from None
            except BaseException:
                self._drop()
                raise
        raise AssertionError("unreachable")

    def _connection(self, deadline: Optional[float]) -> Tuple[_socket.socket, bool]:
        if self._conn is not None and self._pid != os.getpid():
            # Forked: the connection belongs to the parent; never share it.
            self._drop()
        if self._conn is not None:
            return self._conn, True
        _paths.check_socket(self._socket)
        left = _remaining(deadline)
        conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            conn.settimeout(left)
            conn.connect(self._socket)
        except _socket.timeout:
            conn.close()
            raise AgentTimeoutError("connect to credd at %s timed out" % self._socket) from None
        except OSError as e:
            conn.close()
            raise NoAgentError(self._socket, e.strerror or str(e)) from None
        self._conn, self._pid = conn, os.getpid()
        self._rbuf = bytearray()
        return conn, False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        self._conn = None
        _wipe(self._rbuf)
        self._rbuf = bytearray()

    def _round_trip(
        self, conn: _socket.socket, line: bytearray, deadline: Optional[float]
    ) -> Dict[str, Any]:
        write_err = None  # type: Optional[OSError]
        left = _remaining(deadline)
        try:
            conn.settimeout(left)
            conn.sendall(line)
        except _socket.timeout:
            raise AgentTimeoutError("credd at %s did not read the request in time"
                                    % self._socket) from None
        except OSError as e:
            # A daemon that refuses a peer writes one error line and closes;
            # the line may still be waiting to be read.
            write_err = e
        try:
            raw = self._read_line(conn, deadline)
        except _Stale:
            if write_err is not None and write_err.errno in _STALE_ERRNOS:
                raise _Stale(write_err.strerror or str(write_err)) from None
            raise
        try:
            text = raw.decode("utf-8")
            reply = json.loads(text)
        except ValueError:
            raise ProtocolError("credd sent a reply that is not JSON") from None
        finally:
            _wipe(raw)
        if not isinstance(reply, dict):
            raise ProtocolError("credd sent a reply that is not a JSON object")
        return reply

    def _read_line(self, conn: _socket.socket, deadline: Optional[float]) -> bytearray:
        buf = self._rbuf
        chunk = bytearray(_CHUNK)
        view = memoryview(chunk)
        try:
            while True:
                nl = buf.find(b"\n")
                if nl >= 0:
                    line = buf[:nl]
                    _wipe(buf[: nl + 1])
                    del buf[: nl + 1]
                    if line.endswith(b"\r"):
                        del line[-1:]
                    return line
                if len(buf) > MAX_REPLY:
                    raise ProtocolError("credd sent a reply longer than %d bytes" % MAX_REPLY)
                left = _remaining(deadline)
                try:
                    conn.settimeout(left)
                    n = conn.recv_into(view)
                except _socket.timeout:
                    raise AgentTimeoutError(
                        "credd at %s did not answer in time" % self._socket) from None
                except OSError as e:
                    if e.errno in _STALE_ERRNOS and not buf:
                        raise _Stale(e.strerror or str(e)) from None
                    raise ProtocolError("read from credd at %s: %s"
                                        % (self._socket, e.strerror or e)) from None
                if n == 0:
                    if buf:
                        raise ProtocolError("credd closed the connection in the middle of a reply")
                    raise _Stale("connection closed by credd")
                buf += view[:n]
                _wipe(chunk[:n])
        finally:
            view.release()
            _wipe(chunk)

    def _check(self, reply: Dict[str, Any], req_id: int) -> Dict[str, Any]:
        ok = reply.get("ok")
        if not isinstance(ok, bool):
            raise ProtocolError("credd sent a reply without ok")
        if not ok:
            err = reply.get("error")
            if not isinstance(err, dict):
                raise CredError("reply without error", code="internal")
            code = err.get("code")
            message = err.get("message")
            raise from_wire(code if isinstance(code, str) else "internal",
                            message if isinstance(message, str) else "")
        if reply.get("id") != req_id or isinstance(reply.get("id"), bool):
            raise ProtocolError("credd answered request %d with id %r"
                                % (req_id, reply.get("id")))
        return reply


def _remaining(deadline: Optional[float]) -> Optional[float]:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise AgentTimeoutError("the call to credd timed out")
    return left
