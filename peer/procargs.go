package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

// errProcArgs is returned for a kern.procargs2 buffer that does not parse.
var errProcArgs = errors.New("malformed kern.procargs2 buffer")

// parseProcArgs splits the buffer macOS returns for the kern.procargs2
// sysctl: the argument count as a native-endian int32, the executable path
// as given to exec with its terminating NUL, NULs padding to a word
// boundary, then the arguments, each NUL-terminated. The environment
// follows the arguments; it may hold secrets, so it is never read, and the
// caller must clear the buffer.
//
// The executable path is the one exec was given and may be relative.
func parseProcArgs(b []byte) (exe string, argv []string, err error) {
	if len(b) < 4 {
		return "", nil, errProcArgs
	}
	argc := int32(binary.NativeEndian.Uint32(b))
	if argc < 0 {
		return "", nil, errProcArgs
	}
	rest := b[4:]

	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", nil, errProcArgs
	}
	exe, rest = string(rest[:i]), rest[i:]
	rest = bytes.TrimLeft(rest, "\x00")

	// A process may rewrite its own argument area, so argc is a hint: stop
	// at the end of the buffer, and keep only what fits in MaxCmdline.
	size := 0
	for n := int32(0); n < argc && len(rest) > 0 && size <= MaxCmdline; n++ {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			i = len(rest)
		}
		argv = append(argv, string(rest[:i]))
		size += i + 1
		rest = rest[min(i+1, len(rest)):]
	}
	return exe, argv, nil
}

// joinCmdline joins arguments by spaces and cuts the result at MaxCmdline
// bytes, as the Linux code does with /proc/<pid>/cmdline.
func joinCmdline(argv []string) string {
	s := strings.Join(argv, " ")
	if len(s) > MaxCmdline {
		s = s[:MaxCmdline]
	}
	return s
}
