"""Secret, errors and socket discovery, without an agent."""

import copy
import os
import pickle
import tempfile
import unittest
from unittest import mock

import credd_harness as h

import airtrain_cred
from airtrain_cred import Secret
from airtrain_cred._errors import from_wire


class SecretTest(unittest.TestCase):
    def setUp(self) -> None:
        self.value = h.fake_openai_key()
        self.s = Secret(self.value)

    def test_never_shows_itself(self) -> None:
        shown = [
            repr(self.s), str(self.s), format(self.s), format(self.s, ">60"),
            f"{self.s}", f"{self.s!r}", f"{self.s!s}", "%s" % self.s, "%r" % self.s,
            "{}".format(self.s), repr([self.s]), str({"k": self.s}), repr((self.s,)),
        ]
        for text in shown:
            self.assertNotIn(self.value, text)
            self.assertNotIn(self.value[3:12], text)
            self.assertIn("<redacted>", text)
        self.assertEqual(repr(self.s), "Secret('<redacted>')")
        self.assertEqual(str(self.s), "<redacted>")

    def test_reveal(self) -> None:
        self.assertTrue(self.s.reveal() == self.value)
        self.assertTrue(self.s.reveal_bytes() == self.value.encode())
        self.assertEqual(len(self.s), 48)
        self.assertTrue(Secret(b"\xff").reveal() == "\ufffd")

    def test_equality_without_revealing(self) -> None:
        self.assertEqual(self.s, Secret(self.value))
        self.assertNotEqual(self.s, Secret(self.value + "x"))
        self.assertNotEqual(self.s, self.value)  # a Secret is not its text
        with self.assertRaises(TypeError):
            hash(self.s)

    def test_wipe(self) -> None:
        buf = self.s._buf
        self.s.wipe()
        self.assertEqual(len(self.s), 0)
        self.assertFalse(self.s)
        self.assertEqual(buf, bytearray())

    def test_no_pickle(self) -> None:
        with self.assertRaises(TypeError) as cm:
            pickle.dumps(self.s)
        self.assertNotIn(self.value, str(cm.exception))

    def test_copy_is_a_secret(self) -> None:
        c = copy.deepcopy({"k": self.s})["k"]
        self.assertIsInstance(c, Secret)
        self.assertEqual(c, self.s)
        c.wipe()
        self.assertEqual(len(self.s), 48)

    def test_rejects_other_types(self) -> None:
        with self.assertRaises(TypeError):
            Secret(42)  # type: ignore[arg-type]

    def test_credential_repr(self) -> None:
        cred = airtrain_cred.Credential(
            name="openai", type="openai", fields={"api_key": self.s},
            env={"api_key": "OPENAI_API_KEY"}, main="api_key")
        self.assertNotIn(self.value, repr(cred))
        self.assertNotIn(self.value, str(cred))
        self.assertIn("OPENAI_API_KEY", repr(cred))
        env = cred.reveal_env()
        self.assertEqual(list(env), ["OPENAI_API_KEY"])
        self.assertTrue(env["OPENAI_API_KEY"] == self.value)


class ErrorTest(unittest.TestCase):
    def test_codes_map_to_types(self) -> None:
        cases = {
            "locked": airtrain_cred.LockedError,
            "not_found": airtrain_cred.NotFoundError,
            "denied": airtrain_cred.DeniedError,
            "invalid": airtrain_cred.InvalidError,
            "bad_request": airtrain_cred.BadRequestError,
            "busy": airtrain_cred.BusyError,
            "backend_unavailable": airtrain_cred.BackendUnavailableError,
            "audit_unavailable": airtrain_cred.AuditUnavailableError,
        }
        for code, cls in cases.items():
            e = from_wire(code, "why")
            self.assertIs(type(e), cls, code)
            self.assertIsInstance(e, airtrain_cred.CredError)
            self.assertEqual((e.code, e.message, str(e)), (code, "why", code + ": why"))

    def test_unknown_code(self) -> None:
        e = from_wire("internal", "boom")
        self.assertIs(type(e), airtrain_cred.CredError)
        self.assertEqual(e.code, "internal")
        e = from_wire("some_future_code", "")
        self.assertEqual(str(e), "some_future_code")

    def test_errors_pickle(self) -> None:
        # Agents use multiprocessing; an error must survive the trip.
        for e in (from_wire("locked", "run credctl unlock"),
                  airtrain_cred.NoAgentError("/x/credd.sock", "no socket there"),
                  airtrain_cred.UnsafeSocketError("mode 0755", "/x/credd.sock")):
            back = pickle.loads(pickle.dumps(e))
            self.assertIs(type(back), type(e))
            self.assertEqual((back.code, back.message, str(back)), (e.code, e.message, str(e)))
        self.assertEqual(back.socket, "/x/credd.sock")

    def test_no_agent_message(self) -> None:
        e = airtrain_cred.NoAgentError("/run/user/1/airtrain/credd.sock", "no socket there")
        self.assertEqual(e.code, "no_agent")
        self.assertIn("/run/user/1/airtrain/credd.sock", str(e))
        self.assertIn("credctl start", str(e))


class DiscoveryTest(unittest.TestCase):
    def test_order(self) -> None:
        with mock.patch.dict(os.environ, {"AIRTRAIN_CRED_SOCK": "/e/credd.sock",
                                          "XDG_RUNTIME_DIR": "/run/user/7"}):
            self.assertEqual(airtrain_cred.socket_path("/x/s.sock"), "/x/s.sock")
            self.assertEqual(airtrain_cred.socket_path(), "/e/credd.sock")
            self.assertEqual(airtrain_cred.Client().socket, "/e/credd.sock")
            del os.environ["AIRTRAIN_CRED_SOCK"]
            self.assertEqual(airtrain_cred.socket_path(),
                             "/run/user/7/airtrain/credd.sock")
            del os.environ["XDG_RUNTIME_DIR"]
            self.assertEqual(airtrain_cred.socket_path(),
                             os.path.join(tempfile.gettempdir(),
                                          "airtrain-%d" % os.getuid(), "credd.sock"))

    def test_labels(self) -> None:
        with mock.patch.dict(os.environ, {"AIRTRAIN_AGENT": "a", "AIRTRAIN_SKILL": "s"}):
            c = airtrain_cred.Client("/x/credd.sock")
            self.assertEqual((c.agent, c.skill), ("a", "s"))
            c = airtrain_cred.Client("/x/credd.sock", agent="b", skill="t")
            self.assertEqual((c.agent, c.skill), ("b", "t"))

    def test_too_long_path(self) -> None:
        path = "/tmp/" + "x" * 120 + "/credd.sock"
        with self.assertRaises(airtrain_cred.NoAgentError) as cm:
            airtrain_cred.Client(path).hello()
        self.assertIn("longer than 103 bytes", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
