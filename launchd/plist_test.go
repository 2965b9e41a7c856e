package launchd

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// plistToJSON parses a property list with Python's plistlib, which rejects
// anything that is not a valid XML property list, and returns it as JSON.
func plistToJSON(t *testing.T, plist string) map[string]any {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is required under CI: %v", err)
		}
		t.Skipf("python3 not installed: %v", err)
	}
	const script = "import json, plistlib, sys; " +
		"json.dump(plistlib.loads(sys.stdin.buffer.read(), fmt=plistlib.FMT_XML), sys.stdout)"
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(plist)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("plistlib rejected the property list: %v\n%s", err, stderr.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("decode plistlib output: %v", err)
	}
	return v
}

func TestRenderIsValidPlist(t *testing.T) {
	for _, tt := range []struct{ name, binary, socket, logs string }{
		{"plain", "/opt/homebrew/bin/credd",
			"/Users/ann/Library/Application Support/airtrain/credd.sock",
			"/Users/ann/Library/Logs/airtrain"},
		{"markup in paths", "/Users/a&b/<bin>/credd",
			"/Users/a&b/Library/Application Support/airtrain/credd.sock",
			"/Users/a&b/Library/Logs/airtrain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render(tt.binary, tt.socket, tt.logs)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			v := plistToJSON(t, out)
			if v["Label"] != Label {
				t.Errorf("Label = %v, want %s", v["Label"], Label)
			}
			args, _ := v["ProgramArguments"].([]any)
			want := []any{tt.binary, "--socket", tt.socket}
			if len(args) != len(want) {
				t.Fatalf("ProgramArguments = %v, want %v", args, want)
			}
			for i := range want {
				if args[i] != want[i] {
					t.Errorf("ProgramArguments[%d] = %v, want %v", i, args[i], want[i])
				}
			}
			if v["RunAtLoad"] != true {
				t.Errorf("RunAtLoad = %v, want true", v["RunAtLoad"])
			}
			keep, _ := v["KeepAlive"].(map[string]any)
			if keep["SuccessfulExit"] != false {
				t.Errorf("KeepAlive = %v, want restart on unsuccessful exit", v["KeepAlive"])
			}
			if v["Umask"] != float64(0o077) {
				t.Errorf("Umask = %v, want %d", v["Umask"], 0o077)
			}
			for _, k := range []string{"StandardOutPath", "StandardErrorPath"} {
				if v[k] != tt.logs+"/credd.log" {
					t.Errorf("%s = %v, want %s/credd.log", k, v[k], tt.logs)
				}
			}
		})
	}
}

func TestRenderRefusesRelativePaths(t *testing.T) {
	for _, args := range [][3]string{
		{"credd", "/s.sock", "/logs"},
		{"/bin/credd", "s.sock", "/logs"},
		{"/bin/credd", "/s.sock", "logs"},
	} {
		if _, err := Render(args[0], args[1], args[2]); err == nil {
			t.Errorf("Render(%q) succeeded, want an error for a relative path", args)
		}
	}
}
