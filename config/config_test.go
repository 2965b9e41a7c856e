package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/policy"
)

func TestExampleParses(t *testing.T) {
	c, err := Load("example.toml")
	if err != nil {
		t.Fatalf("Load(example.toml): %v", err)
	}
	home, _ := os.UserHomeDir()
	if c.Backend != "auto" || c.Lifetime != 8*time.Hour || c.IdleTimeout != time.Hour ||
		c.ConfirmTimeout != 30*time.Second || c.AllowRoot == nil || *c.AllowRoot ||
		c.LockOnScreenLock == nil || !*c.LockOnScreenLock || len(c.ConfirmCommand) != 3 {
		t.Errorf("daemon settings = %+v", c)
	}
	if c.File != filepath.Join(home, ".local/share/airtrain/credentials.age") {
		t.Errorf("file = %q, want ~ expanded", c.File)
	}
	if len(c.Rules) != 4 || c.Rules[1].Names[0] != "aws-*" || c.Rules[1].UID[0] != 1000 ||
		c.Rules[3].Names[0] != "prod-*" || c.Rules[2].Action != policy.Confirm {
		t.Errorf("rules = %+v", c.Rules)
	}
	if c.Policy == nil || c.Policy.Default() != policy.Deny {
		t.Errorf("policy default = %v, want deny", c.Policy.Default())
	}
	if len(c.Types) != 1 || len(c.Types[0].Fields) != 2 || !c.Types[0].Fields[0].Secret ||
		c.Types[0].Fields[1].Default != "eu" || c.Types[0].Fields[0].Regexp == nil {
		t.Errorf("types = %+v", c.Types)
	}
	if c.Rotation.MaxAgeFor("openai") != 30*24*time.Hour ||
		c.Rotation.MaxAgeFor("other") != 90*24*time.Hour {
		t.Errorf("rotation = %+v", c.Rotation)
	}
	if c.BaseURL["openai"] != "https://llm-proxy.internal.example/v1" {
		t.Errorf("base_url = %v", c.BaseURL)
	}
	// Every key the decoder knows is set in the example.
	for _, key := range []string{"backend", "socket", "audit_log", "lifetime", "idle_timeout",
		"allow_root", "file", "lock_on_screen_lock", "confirm_command", "confirm_timeout",
		"default_action", "name =", "credentials", "ops", "exe =", "exe_sha256", "uid", "gid",
		"parent_exe", "unit", "agent", "skill", "action", "description", "secret", "required",
		"env", "pattern", "default =", "max_age", "[rotation.type.", "[validate.base_url]"} {
		b, _ := os.ReadFile("example.toml")
		if !strings.Contains(string(b), "\n"+key) && !strings.Contains(string(b), " "+key) {
			t.Errorf("example.toml does not show %q", key)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c, err := Load("")
	if err != nil {
		t.Fatalf("Load(missing default) = %v, want an empty config", err)
	}
	if c.Path != "" || c.Policy.Default() != policy.Allow || len(c.Rules) != 0 {
		t.Errorf("empty config = %+v", c)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope.toml")); err == nil {
		t.Error("Load(missing explicit path) succeeded")
	}
	p, _ := DefaultPath()
	if want := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "airtrain", "credd.toml"); p != want {
		t.Errorf("DefaultPath() = %q, want %q", p, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown key", "backend = \"auto\"\nfrob = 1\n", `credd.toml:2: frob: unknown key`},
		{"unknown rule key", "[[rule]]\naction = \"allow\"\n[[rule]]\naction = \"deny\"\nexes = \"/x\"\n",
			`credd.toml:5: rule[1].exes: unknown key`},
		{"wrong type", "allow_root = \"yes\"\n", `credd.toml:1: allow_root: wrong type: got a string, want a boolean`},
		{"wrong list type", "[[rule]]\naction = \"allow\"\nexe = 3\n", `credd.toml:3: rule[0].exe: bad glob "3"`},
		{"bad glob", "[[rule]]\naction = \"allow\"\n\n[[rule]]\naction = \"allow\"\n\n[[rule]]\n" +
			"action = \"deny\"\ncredentials = [\"a\"]\n\nexe = [\"/ok\", \"[\"]\n",
			`credd.toml:11: rule[2].exe: bad glob "[": syntax error in pattern`},
		{"relative exe", "[[rule]]\naction = \"allow\"\nexe = \"python3\"\n",
			`credd.toml:3: rule[0].exe: bad glob "python3": must be an absolute path`},
		{"bad sha", "[[rule]]\naction = \"allow\"\nexe_sha256 = \"abc\"\n",
			`credd.toml:3: rule[0].exe_sha256: bad sha256 "abc"`},
		{"bad action", "[[rule]]\naction = \"permit\"\n", `credd.toml:2: rule[0].action: bad action "permit"`},
		{"missing action", "[[rule]]\nexe = \"/x\"\n", `credd.toml:1: rule[0]: missing action`},
		{"bad op", "[[rule]]\naction = \"allow\"\nops = [\"get\", \"steal\"]\n",
			`credd.toml:3: rule[0].ops: bad op "steal"`},
		{"bad uid", "[[rule]]\naction = \"allow\"\nuid = \"root\"\n", `credd.toml:3: rule[0].uid: want an integer`},
		{"labels only", "[[rule]]\nname = \"x\"\naction = \"allow\"\nagent = \"claude\"\n",
			`credd.toml:1: rule[0]: agent and skill are self-reported`},
		{"labels with uid only", "[[rule]]\naction = \"deny\"\nuid = 0\nskill = \"s\"\n",
			`credd.toml:1: rule[0]: agent and skill are self-reported`},
		{"duplicate rule name", "[[rule]]\nname = \"a\"\naction = \"allow\"\n[[rule]]\nname = \"a\"\naction = \"deny\"\n",
			`credd.toml:5: rule[1].name: name "a" already used by rule[0]`},
		{"bad duration", "lifetime = \"8 hours\"\n", `credd.toml:1: lifetime: bad duration "8 hours"`},
		{"negative duration", "idle_timeout = \"-1h\"\n", `credd.toml:1: idle_timeout: bad duration "-1h"`},
		{"bad rotation", "[rotation]\nmax_age = \"90d\"\n[rotation.type.openai]\nmax_age = \"soon\"\n",
			`credd.toml:4: rotation.type.openai.max_age: bad duration "soon"`},
		{"bad backend", "backend = \"cloud\"\n", `credd.toml:1: backend: bad backend "cloud"`},
		{"bad default", "default_action = \"maybe\"\n", `credd.toml:1: default_action: bad action "maybe"`},
		{"relative socket", "socket = \"credd.sock\"\n", `credd.toml:1: socket: bad path "credd.sock"`},
		{"long socket", "socket = \"/" + strings.Repeat("a", 120) + "\"\n", `credd.toml:1: socket: path is 121 bytes`},
		{"bad regex", "[[type]]\nname = \"t\"\n[[type.field]]\nname = \"a\"\n[[type.field]]\nname = \"b\"\npattern = \"(\"\n",
			`credd.toml:7: type[0].field[1].pattern: bad regex "("`},
		{"secret default", "[[type]]\nname = \"t\"\n[[type.field]]\nname = \"k\"\nsecret = true\ndefault = \"x\"\n",
			`credd.toml:6: type[0].field[0].default: a secret field cannot have a default`},
		{"second type's field", "[[type]]\nname = \"t\"\n[[type.field]]\nname = \"k\"\n[[type]]\nname = \"u\"\n" +
			"[[type.field]]\nname = \"k\"\nenv = \"1BAD\"\n", `credd.toml:9: type[1].field[0].env: bad variable name`},
		{"duplicate type", "[[type]]\nname = \"t\"\n[[type.field]]\nname = \"k\"\n[[type]]\nname = \"t\"\n[[type.field]]\nname = \"k\"\n",
			`credd.toml:6: type[1].name: type "t" defined twice`},
		{"bad url", "[validate.base_url]\nopenai = \"ftp://x\"\n", `credd.toml:2: validate.base_url.openai: bad URL`},
		{"syntax", "lifetime = \n", `credd.toml:1: `},
		{"duplicate key", "lifetime = \"1h\"\nlifetime = \"2h\"\n", `credd.toml:2: lifetime: `},
		{"empty confirm", "confirm_command = []\n", `credd.toml:1: confirm_command: empty command`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("/home/u/.config/airtrain/credd.toml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want %q", tt.in, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("Parse error is %T, want *Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %q, want prefix %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse("x.toml", []byte("[[rule]]\naction = \"allow\"\nexe = \"/usr/bin/*\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.Default() != policy.Deny {
		t.Errorf("default with rules = %v, want deny", c.Policy.Default())
	}
	c, err = Parse("x.toml", []byte("default_action = \"confirm\"\n"))
	if err != nil || c.Policy.Default() != policy.Confirm {
		t.Errorf("default_action confirm: %v, %v", c, err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"8h", 8 * time.Hour, true}, {"90d", 90 * 24 * time.Hour, true},
		{"1w2d12h", (9*24 + 12) * time.Hour, true}, {"1.5d", 36 * time.Hour, true},
		{"30m", 30 * time.Minute, true}, {"0s", 0, true},
		{"", 0, false}, {"d", 0, false}, {"5", 0, false}, {"-1h", 0, false}, {"1h-1d", 0, false},
		{"3x", 0, false}, {"h1", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
