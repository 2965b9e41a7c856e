"""What the client refuses before it sends anything, and the agent's refusals."""

import os
import shutil
import socket
import tempfile
import threading
import unittest
from unittest import mock
from typing import Callable, Optional

import credd_harness as h

import airtrain_cred
from airtrain_cred import Client


class Listener:
    """A plain Unix socket that records whether anyone connected.

    It stands in for an impostor's socket: the client must refuse it before
    connecting, so accept must find nobody. With ``reply``, it answers each
    connection with that function instead (for malformed-reply tests).
    """

    def __init__(self, path: str, reply: Optional[Callable[[socket.socket], None]] = None):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o600)
        self.sock.listen(8)
        self.reply = reply
        self.thread = None  # type: Optional[threading.Thread]
        self.conns = []  # type: list
        if reply is not None:
            self.thread = threading.Thread(target=self._serve, daemon=True)
            self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        self.reply(conn)

    def connected(self) -> bool:
        """Report whether a connection is waiting to be accepted."""
        self.sock.setblocking(False)
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


class ClientSideRefusalTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="credd-py-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.run_dir = os.path.join(self.dir, "run")
        os.mkdir(self.run_dir, 0o700)
        self.path = os.path.join(self.run_dir, "credd.sock")

    def listener(self, **kw) -> Listener:
        ln = Listener(self.path, **kw)
        self.addCleanup(ln.close)
        return ln

    def assert_unsafe(self, ln: Listener, want: str) -> None:
        with self.assertRaises(airtrain_cred.UnsafeSocketError) as cm:
            Client(self.path).status()
        e = cm.exception
        self.assertEqual(e.code, "unsafe_socket")
        self.assertEqual(e.socket, self.path)
        self.assertIn(want, e.message)
        self.assertFalse(ln.connected(), "the client connected to an unsafe socket")

    def test_no_agent_when_socket_absent(self) -> None:
        with self.assertRaises(airtrain_cred.NoAgentError) as cm:
            Client(self.path).get("openai")
        e = cm.exception
        self.assertEqual(e.code, "no_agent")
        self.assertEqual(e.socket, self.path)
        self.assertIn(self.path, str(e))
        self.assertIn("credctl start", str(e))

    def test_no_agent_when_folder_absent(self) -> None:
        path = os.path.join(self.dir, "missing", "credd.sock")
        with self.assertRaises(airtrain_cred.NoAgentError) as cm:
            airtrain_cred.value("openai", socket=path)
        self.assertEqual(cm.exception.socket, path)

    def test_no_agent_when_nobody_listens(self) -> None:
        ln = self.listener()
        ln.close()  # the socket file stays, as after a crash
        with self.assertRaises(airtrain_cred.NoAgentError) as cm:
            Client(self.path).hello()
        self.assertIn(self.path, str(cm.exception))

    def test_no_agent_found_through_xdg_runtime_dir(self) -> None:
        env = {"XDG_RUNTIME_DIR": self.dir}
        with mock.patch.dict(os.environ, env):
            os.environ.pop("AIRTRAIN_CRED_SOCK", None)
            with self.assertRaises(airtrain_cred.NoAgentError) as cm:
                airtrain_cred.load_to_env("openai")
        self.assertEqual(cm.exception.socket,
                         os.path.join(self.dir, "airtrain", "credd.sock"))

    def test_folder_open_to_others(self) -> None:
        ln = self.listener()
        os.chmod(self.run_dir, 0o755)
        self.assert_unsafe(ln, "mode 0755")

    def test_folder_open_to_group(self) -> None:
        ln = self.listener()
        os.chmod(self.run_dir, 0o710)
        self.assert_unsafe(ln, "mode 0710")

    def test_socket_open_to_others(self) -> None:
        ln = self.listener()
        os.chmod(self.path, 0o666)
        self.assert_unsafe(ln, "socket %s has mode 0666" % self.path)

    def test_symlinked_folder(self) -> None:
        ln = self.listener()
        link = os.path.join(self.dir, "link")
        os.symlink(self.run_dir, link)
        with self.assertRaises(airtrain_cred.UnsafeSocketError) as cm:
            Client(os.path.join(link, "credd.sock")).status()
        self.assertIn("symlink", cm.exception.message)
        self.assertFalse(ln.connected())

    def test_not_a_socket(self) -> None:
        with open(self.path, "w"):
            pass
        with self.assertRaises(airtrain_cred.UnsafeSocketError) as cm:
            Client(self.path).status()
        self.assertIn("not a socket", cm.exception.message)

    def test_foreign_owner(self) -> None:
        if os.getuid() != 0:
            h.skip_or_fail("giving a socket to another user needs root")
        ln = self.listener()
        nobody = 65534
        os.chown(self.path, nobody, nobody)
        self.assert_unsafe(ln, "belongs to uid 65534")
        os.chown(self.path, 0, 0)
        os.chown(self.run_dir, nobody, nobody)
        self.assert_unsafe(ln, "belongs to uid 65534")

    def test_unsafe_folder_with_a_real_agent(self) -> None:
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        d.start()
        before = len(d.audit_records()) if os.path.exists(d.audit_log) else 0
        os.chmod(os.path.dirname(d.sock), 0o755)
        with self.assertRaises(airtrain_cred.UnsafeSocketError):
            airtrain_cred.get("openai", socket=d.sock, agent="should-not-arrive")
        os.chmod(os.path.dirname(d.sock), 0o700)
        with Client(d.sock) as c:
            c.hello()
        after = d.audit_records() if os.path.exists(d.audit_log) else []
        self.assertEqual(len(after), before, "the refused call reached the agent")

    def test_silent_server_times_out(self) -> None:
        done = threading.Event()
        self.addCleanup(done.set)
        self.listener(reply=lambda conn: done.wait(60))
        with self.assertRaises(airtrain_cred.AgentTimeoutError) as cm:
            Client(self.path, timeout=0.5).hello()
        self.assertIsInstance(cm.exception, TimeoutError)
        self.assertIsInstance(cm.exception, airtrain_cred.CredError)

    def test_garbage_reply(self) -> None:
        def reply(conn: socket.socket) -> None:
            conn.recv(1 << 16)
            conn.sendall(b"this is not json\n")

        self.listener(reply=reply)
        with self.assertRaises(airtrain_cred.ProtocolError):
            Client(self.path, timeout=30).hello()

    def test_reply_with_another_id(self) -> None:
        def reply(conn: socket.socket) -> None:
            conn.recv(1 << 16)
            conn.sendall(b'{"id":99,"ok":true,"version":1,"server":"x"}\n')

        self.listener(reply=reply)
        with self.assertRaises(airtrain_cred.ProtocolError) as cm:
            Client(self.path, timeout=30).hello()
        self.assertIn("99", cm.exception.message)

    def test_reply_cut_short(self) -> None:
        def reply(conn: socket.socket) -> None:
            conn.recv(1 << 16)
            conn.sendall(b'{"id":1,"ok":tr')
            conn.close()

        self.listener(reply=reply)
        with self.assertRaises(airtrain_cred.ProtocolError):
            Client(self.path, timeout=30).hello()


class DeniedTest(unittest.TestCase):
    """credd run by another user refuses root, which it does not serve.

    The socket and its folder are handed to root after credd listens, so
    that the client's own ownership checks pass and only the daemon's peer
    check (SO_PEERCRED) can refuse.
    """

    def test_root_is_denied_by_another_users_agent(self) -> None:
        user = h.new_user()
        self.addCleanup(h.delete_user, user)
        d = h.Daemon(user=user)
        self.addCleanup(d.cleanup)
        d.start()
        run_dir = os.path.dirname(d.sock)
        self.assertEqual(os.stat(d.sock).st_uid, user.pw_uid)
        os.chown(run_dir, 0, 0)
        os.chown(d.sock, 0, 0)

        with Client(d.sock, agent="intruder") as c:
            with self.assertRaises(airtrain_cred.DeniedError) as cm:
                c.get("openai")
            e = cm.exception
            self.assertEqual(e.code, "denied")
            self.assertIn("root is not served", e.message)
            # A second call on the same client is refused again, not hung.
            with self.assertRaises(airtrain_cred.DeniedError):
                c.status()

        refused = [r for r in d.audit_records() if r.get("event") == "refused_peer"]
        self.assertGreaterEqual(len(refused), 1)
        self.assertEqual(refused[0]["outcome"], "denied")
        self.assertEqual(refused[0]["peer"]["uid"], 0)
        self.assertEqual(refused[0]["peer"]["pid"], os.getpid())


if __name__ == "__main__":
    unittest.main()
