package peer

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// procArgs builds a kern.procargs2 buffer the way macOS lays it out.
func procArgs(argc int32, exe string, pad int, strs ...string) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(argc))
	b = append(b, exe...)
	b = append(b, make([]byte, 1+pad)...)
	for _, s := range strs {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

func TestParseProcArgs(t *testing.T) {
	long := strings.Repeat("a", MaxCmdline)
	for _, tt := range []struct {
		name    string
		buf     []byte
		exe     string
		argv    []string
		wantErr bool
	}{
		{"typical", procArgs(3, "/usr/local/bin/tool", 4, "tool", "-v", "run", "HOME=/Users/ann",
			"API_KEY=do-not-read"), "/usr/local/bin/tool", []string{"tool", "-v", "run"}, false},
		{"no padding", procArgs(1, "/bin/sh", 0, "sh", "PATH=/bin"), "/bin/sh", []string{"sh"}, false},
		{"relative exec path", procArgs(1, "./tool", 7, "./tool"), "./tool", []string{"./tool"}, false},
		{"empty argument kept", procArgs(3, "/bin/echo", 2, "echo", "", "x", "TERM=x"),
			"/bin/echo", []string{"echo", "", "x"}, false},
		{"argc zero", procArgs(0, "/bin/true", 3, "SECRET=x"), "/bin/true", nil, false},
		{"argc beyond buffer", procArgs(9, "/bin/ls", 1, "ls", "-l"), "/bin/ls",
			[]string{"ls", "-l"}, false},
		{"last argument unterminated", append(procArgs(2, "/bin/ls", 1, "ls"), "-l"...),
			"/bin/ls", []string{"ls", "-l"}, false},
		{"long arguments stop early", procArgs(4, "/bin/x", 1, "x", long, "y", "z"),
			"/bin/x", []string{"x", long}, false},
		{"too short", []byte{1, 0}, "", nil, true},
		{"negative argc", procArgs(-1, "/bin/x", 1, "x"), "", nil, true},
		{"exe unterminated", binary.NativeEndian.AppendUint32(nil, 1), "", nil, true},
		{"exe unterminated with text", append(binary.NativeEndian.AppendUint32(nil, 1), "/bin"...),
			"", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			exe, argv, err := parseProcArgs(tt.buf)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseProcArgs err = %v, want error: %v", err, tt.wantErr)
			}
			if exe != tt.exe || !slices.Equal(argv, tt.argv) {
				t.Errorf("parseProcArgs = %q, %q; want %q, %q", exe, argv, tt.exe, tt.argv)
			}
			for _, a := range argv {
				if strings.Contains(a, "=") {
					t.Errorf("parseProcArgs returned environment entry %q", a)
				}
			}
		})
	}
}

func TestJoinCmdline(t *testing.T) {
	if got := joinCmdline([]string{"a", "b c"}); got != "a b c" {
		t.Errorf("joinCmdline = %q, want %q", got, "a b c")
	}
	long := []string{strings.Repeat("x", MaxCmdline), "y"}
	if got := joinCmdline(long); len(got) != MaxCmdline {
		t.Errorf("joinCmdline of a long command line has %d bytes, want %d", len(got), MaxCmdline)
	}
}
