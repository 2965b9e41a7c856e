package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/joho/godotenv"
)

func TestFindRefs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []ref
		err  string
	}{
		{in: "plain value"},
		{in: "cred://openai", want: []ref{{name: "openai"}}},
		{in: "cred://db/password", want: []ref{{name: "db", field: "password"}}},
		{in: "postgres://u:cred://db/password@host/db",
			want: []ref{{name: "db", field: "password"}}},
		{in: "cred://a/x:cred://b", want: []ref{{name: "a", field: "x"}, {name: "b"}}},
		{in: "cred://", err: "malformed reference"},
		{in: "cred:///field", err: "malformed reference"},
		{in: "cred://-bad", err: "malformed reference"},
		{in: "cred://a/b/c", err: "malformed reference"},
		{in: "cred://a/", err: "malformed reference"},
	} {
		spans, err := findRefs(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("findRefs(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("findRefs(%q): %v", tt.in, err)
			continue
		}
		var got []ref
		for _, s := range spans {
			got = append(got, s.ref)
			if tt.in[s.start:s.end] != s.ref.String() {
				t.Errorf("findRefs(%q): span %q, want %q", tt.in, tt.in[s.start:s.end], s.ref)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("findRefs(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	text := `# a comment

export A=cred://openai
B = plain value # trailing comment
C='single $HOME "x" # kept'
D="double \"q\" \$HOME\nnext"
E="spans
two lines" # comment
F=
G=postgres://u:cred://db/password@host/db
`
	got, err := parseEnvFile("x.env", text)
	if err != nil {
		t.Fatal(err)
	}
	want := []fileVar{
		{"A", "cred://openai", 3},
		{"B", "plain value", 4},
		{"C", `single $HOME "x" # kept`, 5},
		{"D", "double \"q\" $HOME\nnext", 6},
		{"E", "spans\ntwo lines", 7},
		{"F", "", 9},
		{"G", "postgres://u:cred://db/password@host/db", 10},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseEnvFile =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseEnvFileErrorsNameLine(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"A=1\nnot an assignment\n", "x.env:2: want NAME=VALUE"},
		{"A=1\n\nB='open\n", "x.env:3: unterminated single-quoted value of B"},
		{"A=\"never closed\nB=2\n", "x.env:1: A: unterminated double-quoted value"},
		{"A='x' junk\n", "x.env:1: A: unexpected text"},
		{"1A=x\n", "x.env:1: want NAME=VALUE"},
	} {
		_, err := parseEnvFile("x.env", tt.text)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseEnvFile(%q) error = %v, want %q", tt.text, err, tt.want)
		}
	}
}

// trickyValues are values that quoting must carry exactly.
var trickyValues = []string{
	"plain",
	"",
	"with spaces  and\ttab",
	`single ' quote`,
	`double " quote`,
	`both ' and " quotes`,
	"line one\nline two\n",
	"$HOME and ${HOME} and $(echo no) and `echo no`",
	`back\slash \n not a newline \\ two`,
	`trailing backslash\`,
	`\$HOME`,
	"unicode: héllo wörld ✓ 日本",
	`'starts and ends with quotes'`,
	`"double at both ends"`,
	"# not a comment",
	"ends with space ",
	"!bang !! history",
}

func TestDotenvLineRoundTrip(t *testing.T) {
	for _, v := range trickyValues {
		line, err := dotenvLine("VAR", v)
		if err != nil {
			t.Errorf("dotenvLine(%q): %v", v, err)
			continue
		}
		m, err := godotenv.Unmarshal(line)
		if err != nil || m["VAR"] != v {
			t.Errorf("dotenvLine(%q) = %q, which godotenv reads as %q, %v", v, line, m["VAR"], err)
		}
	}
}

func TestDotenvLineRefusesWhatItCannotCarry(t *testing.T) {
	// A newline, a single quote and a final backslash together fit
	// neither quoting that godotenv reads exactly.
	v := "a'b\nc\\"
	if line, err := dotenvLine("VAR", v); err == nil {
		m, _ := godotenv.Unmarshal(line)
		if m["VAR"] != v {
			t.Fatalf("dotenvLine wrote %q, read back differently", line)
		}
	} else if strings.Contains(err.Error(), v) {
		t.Fatalf("error shows the value: %v", err)
	}
}
