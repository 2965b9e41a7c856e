package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse checks that Parse either returns a configuration with a policy
// or an *Error, and never panics.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("example.toml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("[[rule]]\naction = \"allow\"\nexe = [\"/usr/bin/*\", \"[\"]\n"))
	f.Add([]byte("[[type]]\nname = \"t\"\n[[type.field]]\nname = \"k\"\npattern = \"(a|b\"\n"))
	f.Add([]byte("lifetime = \"1w2d\"\n[rotation.type.x]\nmax_age = \"1d\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse error is %T, want *Error", err)
			}
			return
		}
		if c.Policy == nil {
			t.Fatal("Parse returned no policy")
		}
	})
}
