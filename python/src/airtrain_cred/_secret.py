"""Secret: a credential value that never prints."""

import hmac
from typing import Union

REDACTED = "<redacted>"


class Secret:
    """A credential value that never shows itself.

    ``repr``, ``str`` and ``format`` (f-strings included) give a fixed
    placeholder, so a stray print, log line or traceback cannot leak the
    value. Call :meth:`reveal` to read it; that call is the one place a value
    leaves the object, and is easy to search for.

    The bytes are kept in a ``bytearray`` that :meth:`wipe` zeroes. Python
    cannot promise more than that: the string :meth:`reveal` returns, and
    the copies the JSON decoder made on the way in, are ordinary objects the
    interpreter frees when it likes.
    """

    __slots__ = ("_buf", "__weakref__")

    def __init__(self, value: Union[str, bytes, bytearray]) -> None:
        if isinstance(value, str):
            self._buf = bytearray(value.encode("utf-8"))
        elif isinstance(value, (bytes, bytearray)):
            self._buf = bytearray(value)
        else:
            raise TypeError("Secret takes str or bytes, not " + type(value).__name__)

    def reveal(self) -> str:
        """Return the value as text. Keep the result out of logs and output."""
        return self._buf.decode("utf-8", errors="replace")

    def reveal_bytes(self) -> bytes:
        """Return the value as bytes. Keep the result out of logs and output."""
        return bytes(self._buf)

    def wipe(self) -> None:
        """Zero the value in place; the Secret is empty afterwards."""
        for i in range(len(self._buf)):
            self._buf[i] = 0
        del self._buf[:]

    def __len__(self) -> int:
        return len(self._buf)

    def __bool__(self) -> bool:
        return len(self._buf) > 0

    def __repr__(self) -> str:
        return "Secret(%r)" % REDACTED

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(bytes(self._buf), bytes(other._buf))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        if eq is NotImplemented:
            return eq
        return not eq

    # A Secret is mutable (wipe), so it is not hashable.
    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError("a Secret cannot be pickled or copied; call reveal() explicitly")

    def __copy__(self) -> "Secret":
        return Secret(self._buf)

    def __deepcopy__(self, memo: dict) -> "Secret":
        return Secret(self._buf)
