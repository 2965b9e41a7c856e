// Package launchd holds credd's launchd user agent and renders it for one
// installation.
//
// The property list in this folder is a template: Render fills in the credd
// binary's path, the socket path credd is told to create, and the folder its
// output goes to, each escaped as XML text.
package launchd

import (
	_ "embed"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
)

// Label is the job's label, and the plist's name without its extension.
const Label = "ai.airtrain.credd"

// PlistName is the agent's file name under ~/Library/LaunchAgents.
const PlistName = Label + ".plist"

// Placeholders in Template.
const (
	BinaryPlaceholder = "@BINDIR@/credd"
	SocketPlaceholder = "@SOCKET@"
	LogDirPlaceholder = "@LOGDIR@"
)

// Template is the agent's property list with its placeholders.
//
//go:embed ai.airtrain.credd.plist
var Template string

// Render returns the property list for a credd binary, the socket path it
// is to create and the folder for its output log. All three must be
// absolute paths.
func Render(binary, socket, logDir string) (string, error) {
	values := []struct{ name, placeholder, path string }{
		{"credd path", BinaryPlaceholder, binary},
		{"socket path", SocketPlaceholder, socket},
		{"log folder", LogDirPlaceholder, logDir},
	}
	pairs := make([]string, 0, 2*len(values))
	for _, v := range values {
		if !filepath.IsAbs(v.path) {
			return "", fmt.Errorf("render plist: %s %q is not absolute", v.name, v.path)
		}
		if !strings.Contains(Template, v.placeholder) {
			return "", fmt.Errorf("render plist: template has no %s placeholder", v.name)
		}
		var b strings.Builder
		if err := xml.EscapeText(&b, []byte(v.path)); err != nil {
			return "", fmt.Errorf("render plist: escape %s: %w", v.name, err)
		}
		pairs = append(pairs, v.placeholder, b.String())
	}
	return strings.NewReplacer(pairs...).Replace(Template), nil
}
