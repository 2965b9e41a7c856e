"""Socket discovery and the safety checks made before connecting."""

import os
import stat
import tempfile
from typing import Optional

from ._errors import NoAgentError, UnsafeSocketError

SOCKET_ENV = "AIRTRAIN_CRED_SOCK"

# The longest socket path the kernel accepts (sun_path is 108 bytes with its
# terminating NUL on Linux, 104 on macOS); the daemon uses the same limit.
MAX_SOCKET_PATH = 103


def socket_path(explicit: Optional[str] = None) -> str:
    """Return the socket to use, found the way the daemon finds it.

    ``explicit`` when given, else ``$AIRTRAIN_CRED_SOCK``, else
    ``$XDG_RUNTIME_DIR/airtrain/credd.sock``, else
    ``airtrain-<uid>/credd.sock`` in the system temp folder.
    """
    if explicit:
        return os.fspath(explicit)
    env = os.environ.get(SOCKET_ENV, "")
    if env:
        return env
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime:
        return os.path.join(runtime, "airtrain", "credd.sock")
    return os.path.join(tempfile.gettempdir(), "airtrain-%d" % os.getuid(), "credd.sock")


def check_private_dir(path: str, sock: Optional[str] = None) -> None:
    """Raise unless path is a real folder owned by this user, closed to others.

    A missing folder raises NoAgentError (no agent made it); a symlink, a
    foreign owner or group or other permission bits raise UnsafeSocketError.
    ``sock`` is the socket path the errors name (default: path itself).
    """
    sock = sock or path
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise NoAgentError(sock, "socket folder %s does not exist" % path) from None
    except OSError as e:
        raise NoAgentError(sock, "check socket folder: %s" % e.strerror) from None
    uid = os.getuid()
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeSocketError(
            "socket folder %s is a symlink; remove it or choose another path" % path, sock)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeSocketError("%s is not a folder" % path, sock)
    if st.st_uid != uid:
        raise UnsafeSocketError(
            "socket folder %s belongs to uid %d, not to you (uid %d)" % (path, st.st_uid, uid),
            sock)
    perm = stat.S_IMODE(st.st_mode)
    if perm & 0o077:
        raise UnsafeSocketError(
            "socket folder %s has mode %04o; it must not be open to group or others "
            "(chmod 700 %s)" % (path, perm, path), sock)


def check_socket(path: str) -> None:
    """Raise unless path is a socket this user owns, closed to others, in a
    private folder. Called before every new connection, so that a look-alike
    socket planted by another user is never sent anything.
    """
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise NoAgentError(path, "socket path is longer than %d bytes" % MAX_SOCKET_PATH)
    check_private_dir(os.path.dirname(path) or ".", path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise NoAgentError(path, "no socket there") from None
    except OSError as e:
        raise NoAgentError(path, "check socket: %s" % e.strerror) from None
    uid = os.getuid()
    if not stat.S_ISSOCK(st.st_mode):
        raise UnsafeSocketError("%s is not a socket" % path, path)
    if st.st_uid != uid:
        raise UnsafeSocketError(
            "socket %s belongs to uid %d, not to you (uid %d)" % (path, st.st_uid, uid), path)
    perm = stat.S_IMODE(st.st_mode)
    if perm & 0o077:
        raise UnsafeSocketError(
            "socket %s has mode %04o; it must not be open to group or others" % (path, perm),
            path)
