package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

// TestExampleRuleSets checks that the README's three rule sets parse and
// that credctl policy test explains them as the README says.
func TestExampleRuleSets(t *testing.T) {
	_, credctl := daemontest.Binaries(t)
	dir := filepath.Join(daemontest.Root(), "examples", "rules")
	const coder = "5f2b7a1c0e9d8b7a6f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b2a19080"
	tests := []struct {
		file string
		args []string
		want string
	}{
		{"single-agent.toml", []string{"--exe", "/usr/bin/python3", "--unit", "summariser.service", "--name", "openai"}, "allow by rule 0 (summariser)"},
		{"single-agent.toml", []string{"--exe", "/usr/bin/python3", "--unit", "summariser.service", "--name", "aws"}, "deny by the default action"},
		{"single-agent.toml", []string{"--exe", "/usr/bin/python3", "--unit", "other.service", "--name", "openai"}, "deny by the default action"},
		{"several-agents.toml", []string{"--exe", "/usr/bin/python3", "--parent-exe", "/opt/agents/researcher/bin/run", "--name", "exa"}, "allow by rule 0 (researcher)"},
		{"several-agents.toml", []string{"--exe", "/opt/agents/coder", "--exe-sha256", coder, "--name", "github-deploy"}, "allow by rule 1 (coder)"},
		{"several-agents.toml", []string{"--exe", "/opt/agents/coder", "--exe-sha256", coder, "--name", "openai"}, "deny by the default action"},
		{"several-agents.toml", []string{"--exe", "/usr/bin/python3", "--agent", "coder", "--name", "anthropic"}, "deny by the default action"},
		{"workstation.toml", []string{"--exe", "/usr/bin/python3.11", "--unit", "agent-chat.service", "--name", "aws-prod"}, "deny by rule 0 (no-interpreters-for-cloud)"},
		{"workstation.toml", []string{"--exe", "/usr/local/bin/credctl", "--name", "openai"}, "confirm by rule 2 (cli-read-asks)"},
		{"workstation.toml", []string{"--exe", "/usr/local/bin/credctl", "--op", "set", "--name", "openai"}, "allow by rule 1 (cli-manage)"},
		{"workstation.toml", []string{"--exe", "/usr/bin/python3.11", "--unit", "agent-chat.service", "--name", "openai"}, "allow by rule 3 (agent-services)"},
	}
	for _, tt := range tests {
		args := append([]string{"policy", "test", "--config", filepath.Join(dir, tt.file)}, tt.args...)
		out, err := execCommand(credctl, args...).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), tt.want) {
			t.Errorf("credctl %s: %v\n%s\nwant a line starting %q", strings.Join(args, " "), err, out, tt.want)
		}
	}
	for _, f := range []string{"single-agent.toml", "several-agents.toml", "workstation.toml"} {
		out, err := execCommand(credctl, "config", "check", "--config", filepath.Join(dir, f)).CombinedOutput()
		if err != nil {
			t.Errorf("config check %s: %v: %s", f, err, out)
		}
	}
}
