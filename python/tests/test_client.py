"""The client against a real, unlocked credd."""

import os
import subprocess
import sys
import textwrap
import threading
import unittest
from unittest import mock

import credd_harness as h

import airtrain_cred
from airtrain_cred import Client


class UnlockedAgentTest(unittest.TestCase):
    """One credd, unlocked, holding an openai and a generic credential."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.d = h.Daemon()
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()
        cls.d.unlock()
        cls.key = h.fake_openai_key()
        cls.token = h.fake_token()
        cls.d.set("openai", "openai", "api_key=%s\n" % cls.key)
        cls.d.set("ci-token", "generic", cls.token + "\n")

    def setUp(self) -> None:
        # Each test sees only the socket it is given, whatever the caller's
        # environment holds.
        patcher = mock.patch.dict(os.environ, {"AIRTRAIN_CRED_SOCK": self.d.sock})
        patcher.start()
        self.addCleanup(patcher.stop)
        for var in ("AIRTRAIN_AGENT", "AIRTRAIN_SKILL", "OPENAI_API_KEY",
                    "OPENAI_ORGANIZATION_ID", "CI_TOKEN"):
            os.environ.pop(var, None)

    def client(self, **kw) -> Client:
        c = Client(self.d.sock, **kw)
        self.addCleanup(c.close)
        return c

    def test_hello(self) -> None:
        hello = self.client().hello()
        self.assertEqual(hello.version, 1)
        self.assertTrue(hello.server.startswith("credd"), hello.server)

    def test_status(self) -> None:
        st = self.client().status()
        self.assertFalse(st.locked)
        self.assertEqual(st.credentials, 2)
        self.assertEqual(st.backend, "file")
        self.assertEqual(st.pid, self.d.proc.pid)

    def test_list(self) -> None:
        infos = {i.name: i for i in self.client().list()}
        self.assertEqual(sorted(infos), ["ci-token", "openai"])
        self.assertEqual(infos["openai"].type, "openai")
        self.assertEqual(infos["openai"].fields, ["api_key"])
        self.assertEqual(infos["ci-token"].type, "generic")
        self.assertIsNotNone(infos["openai"].created)
        self.assertIsNotNone(infos["openai"].created.tzinfo)

    def test_get(self) -> None:
        cred = self.client().get("openai")
        self.assertEqual(cred.name, "openai")
        self.assertEqual(cred.type, "openai")
        self.assertEqual(cred.main, "api_key")
        self.assertEqual(sorted(cred.fields), ["api_key"])
        self.assertEqual(cred.env, {"api_key": "OPENAI_API_KEY"})
        h.assert_secret_equal(self, cred.fields["api_key"], self.key)
        h.assert_secret_equal(self, cred.secret(), self.key)

    def test_get_generic(self) -> None:
        cred = self.client().get("ci-token")
        self.assertEqual(cred.type, "generic")
        h.assert_secret_equal(self, cred.secret(), self.token)
        self.assertEqual(cred.env, {cred.main: "CI_TOKEN"})

    def test_value_main_secret(self) -> None:
        h.assert_secret_equal(self, self.client().value("openai"), self.key)
        h.assert_secret_equal(self, self.client().value("ci-token"), self.token)

    def test_value_field(self) -> None:
        h.assert_secret_equal(self, self.client().value("openai", "api_key"), self.key)

    def test_value_missing_field(self) -> None:
        with self.assertRaises(airtrain_cred.NotFoundError) as cm:
            self.client().value("openai", "organization_id")
        self.assertEqual(cm.exception.code, "not_found")
        self.assertIn("organization_id", cm.exception.message)

    def test_not_found(self) -> None:
        with self.assertRaises(airtrain_cred.NotFoundError) as cm:
            self.client().get("no-such-credential")
        e = cm.exception
        self.assertIsInstance(e, airtrain_cred.CredError)
        self.assertEqual(e.code, "not_found")
        self.assertIn("no-such-credential", e.message)
        self.assertEqual(str(e), "not_found: " + e.message)

    def test_bad_name(self) -> None:
        with self.assertRaises(airtrain_cred.BadRequestError) as cm:
            self.client().get("not a name")
        self.assertEqual(cm.exception.code, "bad_request")

    def test_module_functions(self) -> None:
        # No socket argument: found through $AIRTRAIN_CRED_SOCK.
        h.assert_secret_equal(self, airtrain_cred.value("openai"), self.key)
        h.assert_secret_equal(self, airtrain_cred.value("openai", "api_key"), self.key)
        h.assert_secret_equal(self, airtrain_cred.get("ci-token").secret(), self.token)

    def test_load_to_env(self) -> None:
        self.addCleanup(os.environ.pop, "OPENAI_API_KEY", None)
        self.addCleanup(os.environ.pop, "CI_TOKEN", None)
        names = airtrain_cred.load_to_env("openai", "ci-token")
        self.assertEqual(names, ["OPENAI_API_KEY", "CI_TOKEN"])
        self.assertTrue(os.environ["OPENAI_API_KEY"] == self.key,
                        "OPENAI_API_KEY does not hold the stored key")
        self.assertTrue(os.environ["CI_TOKEN"] == self.token,
                        "CI_TOKEN does not hold the stored token")
        # The optional organization id is not stored, so it is not set.
        self.assertNotIn("OPENAI_ORGANIZATION_ID", os.environ)

    def test_load_to_env_keeps_existing_without_overwrite(self) -> None:
        self.addCleanup(os.environ.pop, "OPENAI_API_KEY", None)
        os.environ["OPENAI_API_KEY"] = "kept"
        self.assertEqual(airtrain_cred.load_to_env("openai", overwrite=False), [])
        self.assertEqual(os.environ["OPENAI_API_KEY"], "kept")

    def test_load_to_env_all_or_nothing(self) -> None:
        with self.assertRaises(airtrain_cred.NotFoundError):
            airtrain_cred.load_to_env("openai", "no-such-credential")
        self.assertNotIn("OPENAI_API_KEY", os.environ)

    def _records_for(self, agent: str) -> list:
        return [r for r in self.d.audit_records()
                if (r.get("self_reported") or {}).get("agent") == agent]

    def test_labels_reach_the_audit_log(self) -> None:
        self.client(agent="research-bot", skill="summarize").get("openai")
        recs = self._records_for("research-bot")
        self.assertEqual(len(recs), 1, recs)
        r = recs[0]
        self.assertEqual(r["event"], "get")
        self.assertEqual(r["credential"], "openai")
        self.assertEqual(r["outcome"], "granted")
        self.assertEqual(r["self_reported"], {"agent": "research-bot", "skill": "summarize"})
        self.assertEqual(r["peer"]["pid"], os.getpid())

    def test_labels_default_from_environment(self) -> None:
        os.environ["AIRTRAIN_AGENT"] = "env-agent"
        os.environ["AIRTRAIN_SKILL"] = "env-skill"
        c = self.client()
        self.assertEqual((c.agent, c.skill), ("env-agent", "env-skill"))
        c.value("ci-token")
        c.list()
        recs = self._records_for("env-agent")
        self.assertEqual([r["event"] for r in recs], ["get", "list"])
        for r in recs:
            self.assertEqual(r["self_reported"], {"agent": "env-agent", "skill": "env-skill"})

    def test_one_connection_reused(self) -> None:
        with Client(self.d.sock, agent="reuse-check") as c:
            c.hello()
            first = c._conn
            self.assertIsNotNone(first)
            c.status()
            c.get("openai")
            self.assertIs(c._conn, first)
        self.assertIsNone(c._conn)
        with self.assertRaises(ValueError):
            c.hello()

    def test_threads_share_one_client(self) -> None:
        c = self.client()
        errors = []

        def work() -> None:
            try:
                for _ in range(25):
                    if c.value("openai").reveal() != self.key:
                        errors.append("wrong value")
                    c.status()
            except Exception as e:  # collected, reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])

    def test_nothing_prints_a_value(self) -> None:
        # A child process does everything a careless agent might: print,
        # format, log and dump tracebacks with locals. None of its output
        # may hold the key.
        script = textwrap.dedent("""
            import logging, sys, traceback
            import airtrain_cred
            logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
            with airtrain_cred.Client() as c:
                cred = c.get("openai")
                key = c.value("openai")
                print(cred, repr(cred), str(key), repr(key), f"{key}", "%s %r" % (key, key))
                print("{} {!r} {:>30}".format(key, key, key), [key], {"k": key})
                print(c.status(), c.list(), c.hello())
                logging.info("credential %s key %s", cred, key)
                try:
                    c.get("nope")
                except airtrain_cred.CredError as e:
                    print(repr(e), e)
                try:
                    raise RuntimeError(cred, key)
                except RuntimeError:
                    print(traceback.TracebackException(*sys.exc_info(),
                                                       capture_locals=True).format())
                raise SystemExit(0 if len(key) == 48 else 3)
        """)
        env = dict(os.environ, PYTHONPATH=str(h.SRC))
        res = subprocess.run([sys.executable, "-c", script], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=h.CMD_TIMEOUT)
        out = res.stdout.decode(errors="replace")
        self.assertNotIn(self.key, out, "the child printed the key")
        self.assertNotIn(self.key[3:20], out, "the child printed part of the key")
        self.assertEqual(res.returncode, 0, out)
        self.assertIn("<redacted>", out)

    def test_daemon_and_credctl_never_wrote_a_value(self) -> None:
        written = self.d.everything_written()
        self.assertGreater(len(written), 0)
        for s in (self.key, self.token, self.d.passphrase):
            self.assertNotIn(s, written, "a secret appears in a log or in credctl's output")


class LockedAgentTest(unittest.TestCase):
    """A credd that held a credential and was locked."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.d = h.Daemon()
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()
        cls.d.unlock()
        cls.d.set("openai", "openai", "api_key=%s\n" % h.fake_openai_key())
        cls.d.lock()

    def test_status_says_locked(self) -> None:
        with Client(self.d.sock) as c:
            self.assertTrue(c.status().locked)

    def test_get_raises_locked(self) -> None:
        with Client(self.d.sock) as c:
            for call in (lambda: c.get("openai"), lambda: c.value("openai"),
                         lambda: c.value("openai", "api_key")):
                with self.assertRaises(airtrain_cred.LockedError) as cm:
                    call()
                self.assertEqual(cm.exception.code, "locked")
                self.assertIsInstance(cm.exception, airtrain_cred.CredError)
            # The connection survives a daemon error.
            self.assertTrue(c.status().locked)

    def test_load_to_env_raises_locked(self) -> None:
        with mock.patch.dict(os.environ, {}):
            os.environ.pop("OPENAI_API_KEY", None)
            with self.assertRaises(airtrain_cred.LockedError):
                airtrain_cred.load_to_env("openai", socket=self.d.sock)
            self.assertNotIn("OPENAI_API_KEY", os.environ)


class RestartTest(unittest.TestCase):
    """A kept connection outlives its daemon: the client reconnects once."""

    def test_reconnects_after_restart_then_reports_no_agent(self) -> None:
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        d.start()
        with Client(d.sock) as c:
            first_pid = c.status().pid
            d.stop()
            d.start()
            st = c.status()
            self.assertNotEqual(st.pid, first_pid)
            self.assertTrue(st.locked)
            d.stop()
            with self.assertRaises(airtrain_cred.NoAgentError) as cm:
                c.status()
            self.assertEqual(cm.exception.socket, d.sock)


if __name__ == "__main__":
    unittest.main()
