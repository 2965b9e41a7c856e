package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEConfigsParse parses every TOML block in the README, so that
// the documentation shows configs credd accepts.
func TestREADMEConfigsParse(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```toml\n")[1:]
	if len(blocks) < 4 {
		t.Fatalf("found %d TOML blocks in the README, want at least 4", len(blocks))
	}
	for i, blk := range blocks {
		body, _, _ := strings.Cut(blk, "```")
		cfg, err := Parse("README.md block "+string(rune('1'+i)), []byte(body))
		if err != nil {
			t.Errorf("README TOML block %d: %v", i+1, err)
			continue
		}
		if _, err := cfg.Registry(); err != nil {
			t.Errorf("README TOML block %d: types: %v", i+1, err)
		}
	}
}
