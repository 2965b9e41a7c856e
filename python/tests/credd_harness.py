"""Runs the real credd and credctl for the tests.

The binaries come from $CREDD_BIN and $CREDCTL_BIN when set, else they are
built once per test run with `go build` into a temporary folder. Each
Daemon lives in its own temporary folder (socket, XDG folders, audit log,
daemon log) and is stopped and removed by cleanup(), which the tests
register before anything can fail.
"""

import atexit
import hmac
import json
import os
import pwd
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "python" / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

import airtrain_cred  # noqa: E402

# Generous bounds: the machine is shared and slow at times.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
CMD_TIMEOUT = 120.0


def in_ci() -> bool:
    """Report whether the tests run in CI, where nothing may be skipped."""
    return os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it under CI=true, where everything is installed."""
    if in_ci():
        raise AssertionError(reason + " (CI=true, so this fails instead of skipping)")
    raise unittest.SkipTest(reason)


def fake_openai_key() -> str:
    """Return a made-up OpenAI-shaped key: "sk-" and 45 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "sk-" + "".join(secrets.choice(alphabet) for _ in range(45))


def fake_token(prefix: str = "tok-") -> str:
    """Return a made-up opaque token."""
    return prefix + secrets.token_hex(20)


def assert_secret_equal(tc: unittest.TestCase, got: "airtrain_cred.Secret", want: str) -> None:
    """Fail unless got holds want, without ever putting either in the message."""
    tc.assertIsInstance(got, airtrain_cred.Secret)
    revealed = got.reveal()
    if not hmac.compare_digest(revealed.encode(), want.encode()):
        tc.fail("secret value differs from the one stored (lengths %d and %d)"
                % (len(revealed), len(want)))


_built = {}  # type: Dict[str, str]

# Daemons started and not yet stopped, stopped at exit if a test run is
# interrupted before its cleanups run.
_live = set()  # type: set


@atexit.register
def _stop_live() -> None:
    for d in list(_live):
        d.stop()


def binaries() -> Dict[str, str]:
    """Return {"credd": path, "credctl": path}, building them on first use."""
    if _built:
        return _built
    credd, credctl = os.environ.get("CREDD_BIN"), os.environ.get("CREDCTL_BIN")
    if not (credd and credctl):
        go = shutil.which("go")
        if go is None:
            skip_or_fail("go is not installed and $CREDD_BIN/$CREDCTL_BIN are not set")
        out = tempfile.mkdtemp(prefix="credd-py-bin-")
        atexit.register(shutil.rmtree, out, True)
        for name in ("credd", "credctl"):
            res = subprocess.run(
                [go, "build", "-o", os.path.join(out, name), "./cmd/" + name],
                cwd=str(REPO), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=600)
            if res.returncode != 0:
                raise RuntimeError("go build ./cmd/%s failed:\n%s"
                                   % (name, res.stdout.decode(errors="replace")))
        credd = credd or os.path.join(out, "credd")
        credctl = credctl or os.path.join(out, "credctl")
    _built.update(credd=credd, credctl=credctl)
    return _built


def clean_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Return this process's environment without credd's or XDG variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRTRAIN_", "XDG_", "CREDD_", "CREDCTL_"))
           and k != "DBUS_SESSION_BUS_ADDRESS"}
    if extra:
        env.update(extra)
    return env


class Daemon:
    """One real credd with the file backend in a private temporary folder.

    With ``user`` (a pwd entry), the daemon runs as that user: the folder
    is given to it and the binary is copied inside, so it never needs to
    reach anything of the test's own.
    """

    def __init__(self, user: Optional[pwd.struct_passwd] = None) -> None:
        self.user = user
        self.root = tempfile.mkdtemp(prefix="credd-py-")
        self.sock = os.path.join(self.root, "run", "credd.sock")
        self.audit_log = os.path.join(self.root, "audit.log")
        self.log_path = os.path.join(self.root, "credd.log")
        self.passphrase = secrets.token_urlsafe(24)
        self.proc = None  # type: Optional[subprocess.Popen]
        self.outputs = []  # type: List[str]
        for d in ("data", "state", "config", "cache", "xdg-run"):
            os.mkdir(os.path.join(self.root, d), 0o700)
        self.credd = binaries()["credd"]
        self.credctl = binaries()["credctl"]
        if user is not None:
            self.credd = os.path.join(self.root, "credd")
            shutil.copy(binaries()["credd"], self.credd)
            for dirpath, dirnames, filenames in os.walk(self.root):
                for n in dirnames + filenames:
                    os.chown(os.path.join(dirpath, n), user.pw_uid, user.pw_gid)
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def env(self) -> Dict[str, str]:
        """Return the environment credd and credctl run with (no passphrase)."""
        r = self.root
        return clean_env({
            "HOME": r,
            "XDG_DATA_HOME": os.path.join(r, "data"),
            "XDG_STATE_HOME": os.path.join(r, "state"),
            "XDG_CONFIG_HOME": os.path.join(r, "config"),
            "XDG_CACHE_HOME": os.path.join(r, "cache"),
            "XDG_RUNTIME_DIR": os.path.join(r, "xdg-run"),
            "AIRTRAIN_CRED_SOCK": self.sock,
        })

    def start(self, wait_ready: bool = True) -> None:
        """Start credd and wait until its socket exists (and, when it is ours,
        until it answers hello)."""
        args = [self.credd, "--backend", "file", "--socket", self.sock,
                "--audit-log", self.audit_log]
        kwargs = {}
        if self.user is not None:
            kwargs = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                args, env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.root, start_new_session=True, **kwargs)
        _live.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("credd exited with status %s:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            if os.path.exists(self.sock):
                if self.user is not None or not wait_ready:
                    return
                try:
                    with airtrain_cred.Client(self.sock, timeout=10) as c:
                        c.hello()
                    return
                except airtrain_cred.CredError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("credd did not start within %d s:\n%s"
                                   % (START_TIMEOUT, self.log_tail()))
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop credd: SIGTERM, then SIGKILL if it does not leave in time."""
        p, self.proc = self.proc, None
        _live.discard(self)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(STOP_TIMEOUT)

    def cleanup(self) -> None:
        """Stop credd and remove its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, n: int = 4000) -> str:
        """Return the end of credd's log (it never holds a secret)."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-n:]
        except OSError:
            return "(no log)"

    def credctl_run(self, *args: str, stdin: bytes = b"", passphrase: bool = False) -> str:
        """Run credctl against this daemon and return its stdout; fail on error.

        The passphrase, when asked for, goes in credctl's environment only.
        """
        env = self.env()
        if passphrase:
            env["AIRTRAIN_CRED_PASSPHRASE"] = self.passphrase
        res = subprocess.run([self.credctl] + list(args), env=env, input=stdin,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=CMD_TIMEOUT)
        out = res.stdout.decode(errors="replace")
        err = res.stderr.decode(errors="replace")
        self.outputs += [out, err]
        if res.returncode != 0:
            raise AssertionError("credctl %s exited %d: %s" % (args[0], res.returncode, err))
        return out

    def unlock(self) -> None:
        """Unlock the daemon with its passphrase (credctl unlock)."""
        self.credctl_run("unlock", passphrase=True)

    def lock(self) -> None:
        """Lock the daemon (credctl lock)."""
        self.credctl_run("lock")

    def set(self, name: str, typ: str, lines: str) -> None:
        """Store a credential with credctl set, its values on stdin."""
        self.credctl_run("set", name, "--type", typ, stdin=lines.encode())

    def audit_records(self) -> List[dict]:
        """Return every audit record written so far."""
        out = []
        with open(self.audit_log, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
        return out

    def everything_written(self) -> str:
        """Return the daemon log, the audit log and every credctl output."""
        parts = [self.log_tail(n=10 ** 9)] + self.outputs
        try:
            with open(self.audit_log, encoding="utf-8", errors="replace") as f:
                parts.append(f.read())
        except OSError:
            pass
        return "\n".join(parts)


def new_user() -> pwd.struct_passwd:
    """Create a throwaway system user (root only); remove it with delete_user."""
    if os.getuid() != 0:
        skip_or_fail("creating a second user needs root")
    if shutil.which("useradd") is None:
        skip_or_fail("useradd is not installed")
    name = "credpy" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                    "--shell", "/usr/sbin/nologin", name],
                   check=True, stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
    return pwd.getpwnam(name)


def delete_user(user: pwd.struct_passwd) -> None:
    """Remove a user made by new_user."""
    subprocess.run(["userdel", user.pw_name], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
