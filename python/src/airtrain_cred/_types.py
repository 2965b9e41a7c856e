"""Results of the client's calls."""

import datetime
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._errors import ProtocolError
from ._secret import Secret


@dataclass(frozen=True)
class Hello:
    """The agent's answer to hello: protocol version and server name."""

    version: int
    server: str


@dataclass(frozen=True)
class Status:
    """Whether the agent is locked, how many credentials it holds, and until when."""

    locked: bool
    credentials: int
    backend: str
    uptime_s: int
    expires_at: Optional[datetime.datetime]
    pid: int
    memory_locked: bool = False
    rotation_due: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class CredentialInfo:
    """A stored credential described without its values, as list returns it."""

    name: str
    type: str
    fields: List[str]
    created: Optional[datetime.datetime] = None
    updated: Optional[datetime.datetime] = None
    checked: Optional[datetime.datetime] = None
    unchecked: bool = False
    rotation_due: bool = False
    has_previous: bool = False


@dataclass
class Credential:
    """A credential with its values, as get returns it.

    ``fields`` maps each field to its value as a :class:`Secret`. ``env``
    maps each field to the environment variable its type exports it under
    (only fields that have one). ``main`` names the field holding the main
    secret, or is None when the type names none.
    """

    name: str
    type: str
    fields: Dict[str, Secret]
    env: Dict[str, str]
    main: Optional[str] = None

    def secret(self) -> Optional[Secret]:
        """Return the main secret, or None when the type names none."""
        if self.main is None:
            return None
        return self.fields.get(self.main)

    def reveal_env(self) -> Dict[str, str]:
        """Return {VARIABLE: value} for every field that has a variable and a value.

        The values are revealed: hand the result to a child process's
        environment or to os.environ, never to a log.
        """
        out = {}
        for fld, var in self.env.items():
            value = self.fields.get(fld)
            if value is not None:
                out[var] = value.reveal()
        return out

    def wipe(self) -> None:
        """Zero every value held by this object."""
        for value in self.fields.values():
            value.wipe()


_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def parse_time(value: Any) -> Optional[datetime.datetime]:
    """Parse an RFC 3339 time as Go writes it (nanoseconds, Z); None if absent."""
    if not isinstance(value, str) or not value:
        return None
    m = _TIME_RE.match(value)
    if m is None:
        raise ProtocolError("reply holds a time that is not RFC 3339: %r" % value[:40])
    base, frac, zone = m.group(1), m.group(2) or "", m.group(3) or ""
    if zone == "Z":
        zone = "+00:00"
    text = base + ("." + (frac + "000000")[:6] if frac else "") + zone
    return datetime.datetime.fromisoformat(text)


def _get(d: Dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = d.get(key, default)
    if value is None:
        return default
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError("reply member %r is not %s" % (key, kind.__name__))
    return value


def _str_list(d: Dict[str, Any], key: str) -> List[str]:
    value = _get(d, key, list, [])
    if not all(isinstance(v, str) for v in value):
        raise ProtocolError("reply member %r is not a list of strings" % key)
    return list(value)


def _str_map(d: Dict[str, Any], key: str) -> Dict[str, str]:
    value = _get(d, key, dict, {})
    if not all(isinstance(v, str) for v in value.values()):
        raise ProtocolError("reply member %r does not map names to strings" % key)
    return dict(value)


def hello_from(d: Dict[str, Any]) -> Hello:
    return Hello(version=_get(d, "version", int, 0), server=_get(d, "server", str, ""))


def status_from(d: Dict[str, Any]) -> Status:
    return Status(
        locked=_get(d, "locked", bool, False),
        credentials=_get(d, "credentials", int, 0),
        backend=_get(d, "backend", str, ""),
        uptime_s=_get(d, "uptime_s", int, 0),
        expires_at=parse_time(d.get("expires_at")),
        pid=_get(d, "pid", int, 0),
        memory_locked=_get(d, "memory_locked", bool, False),
        rotation_due=_str_list(d, "rotation_due"),
    )


def info_from(d: Any) -> CredentialInfo:
    if not isinstance(d, dict):
        raise ProtocolError("list reply holds an entry that is not an object")
    return CredentialInfo(
        name=_get(d, "name", str, ""),
        type=_get(d, "type", str, ""),
        fields=_str_list(d, "fields"),
        created=parse_time(d.get("created")),
        updated=parse_time(d.get("updated")),
        checked=parse_time(d.get("checked")),
        unchecked=_get(d, "unchecked", bool, False),
        rotation_due=_get(d, "rotation_due", bool, False),
        has_previous=_get(d, "has_previous", bool, False),
    )


def credential_from(d: Any) -> Credential:
    if not isinstance(d, dict):
        raise ProtocolError("get reply has no credential object")
    raw = _str_map(d, "fields")
    main = _get(d, "main", str, "") or None
    return Credential(
        name=_get(d, "name", str, ""),
        type=_get(d, "type", str, ""),
        fields={k: Secret(v) for k, v in raw.items()},
        env=_str_map(d, "env"),
        main=main,
    )
