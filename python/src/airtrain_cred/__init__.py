"""Client for credd, the Airtrain credential agent.

One line gives an agent its keys, in the variables its libraries already
read::

    from airtrain_cred import load_to_env; load_to_env("openai", "anthropic")

Or read values directly; they come back as :class:`Secret` objects that
never print, and :meth:`Secret.reveal` returns the text::

    from airtrain_cred import Client
    with Client() as c:
        key = c.value("openai")
        use(key.reveal())

The socket is found the way credd finds it: an explicit path, else
``$AIRTRAIN_CRED_SOCK``, else ``$XDG_RUNTIME_DIR/airtrain/credd.sock``, else
``<tempdir>/airtrain-<uid>/credd.sock``. Nothing is sent to a socket, or
through a folder, that another user could reach or replace.

Every request carries the labels ``agent`` and ``skill`` (default
``$AIRTRAIN_AGENT`` and ``$AIRTRAIN_SKILL``), which the agent writes to its
audit log as self-reported.
"""

import os
from typing import List, Optional

from ._client import AGENT_ENV, DEFAULT_TIMEOUT, SKILL_ENV, Client
from ._errors import (
    AgentTimeoutError,
    AuditUnavailableError,
    BackendUnavailableError,
    BadRequestError,
    BusyError,
    CredError,
    DeniedError,
    InvalidError,
    LockedError,
    NoAgentError,
    NotFoundError,
    ProtocolError,
    UnsafeSocketError,
)
from ._paths import SOCKET_ENV, socket_path
from ._secret import Secret
from ._types import Credential, CredentialInfo, Hello, Status

__version__ = "0.1.0"

__all__ = [
    "AGENT_ENV",
    "SKILL_ENV",
    "SOCKET_ENV",
    "DEFAULT_TIMEOUT",
    "AgentTimeoutError",
    "AuditUnavailableError",
    "BackendUnavailableError",
    "BadRequestError",
    "BusyError",
    "Client",
    "CredError",
    "Credential",
    "CredentialInfo",
    "DeniedError",
    "Hello",
    "InvalidError",
    "LockedError",
    "NoAgentError",
    "NotFoundError",
    "ProtocolError",
    "Secret",
    "Status",
    "UnsafeSocketError",
    "get",
    "load_to_env",
    "socket_path",
    "value",
]


def get(
    name: str,
    *,
    socket: Optional[str] = None,
    agent: Optional[str] = None,
    skill: Optional[str] = None,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
) -> Credential:
    """Return the named credential, its values as Secrets, over a one-off connection."""
    with Client(socket, agent=agent, skill=skill, timeout=timeout) as c:
        return c.get(name)


def value(
    name: str,
    field: Optional[str] = None,
    *,
    socket: Optional[str] = None,
    agent: Optional[str] = None,
    skill: Optional[str] = None,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
) -> Secret:
    """Return the credential's main secret, or the named field, as a Secret."""
    with Client(socket, agent=agent, skill=skill, timeout=timeout) as c:
        return c.value(name, field)


def load_to_env(
    *names: str,
    socket: Optional[str] = None,
    agent: Optional[str] = None,
    skill: Optional[str] = None,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
    overwrite: bool = True,
) -> List[str]:
    """Put each named credential into os.environ under its type's variables.

    For ``openai`` that is ``OPENAI_API_KEY`` (and ``OPENAI_ORGANIZATION_ID``
    when that field is stored), so code that reads its key from the
    environment works unchanged. Fields the credential does not have are
    left alone. Every credential is fetched before any variable is set, so a
    failure leaves os.environ untouched. With ``overwrite=False``, variables
    already set are kept.

    Returns the names of the variables set, in order.
    """
    creds = []
    with Client(socket, agent=agent, skill=skill, timeout=timeout) as c:
        for name in names:
            creds.append(c.get(name))
    set_names = []  # type: List[str]
    for cred in creds:
        for var, val in cred.reveal_env().items():
            if not overwrite and var in os.environ:
                continue
            os.environ[var] = val
            if var not in set_names:
                set_names.append(var)
        cred.wipe()
    return set_names
