// Package systemd holds credd's systemd user units and renders them for one
// installation.
//
// The unit files in this folder are templates: the service's ExecStart= names
// the placeholder BinaryPlaceholder, which Render replaces with the absolute
// path of the credd binary, escaped for a unit file's command line.
package systemd

import (
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// BinaryPlaceholder stands for the credd binary's path in the templates.
const BinaryPlaceholder = "@BINDIR@/credd"

// Unit file names, as the user manager knows them.
const (
	SocketUnit  = "credd.socket"
	ServiceUnit = "credd.service"
	// EnvironmentFile is the file name under ~/.config/environment.d/.
	EnvironmentFile = "airtrain-credd.conf"
)

// SocketTemplate is the socket unit. It holds no placeholder.
//
//go:embed credd.socket
var SocketTemplate string

// ServiceTemplate is the service unit, with BinaryPlaceholder in ExecStart=.
//
//go:embed credd.service
var ServiceTemplate string

// EnvironmentTemplate is the environment.d file that sets AIRTRAIN_CRED_SOCK.
//
//go:embed airtrain-credd.conf
var EnvironmentTemplate string

// RenderService returns the service unit with ExecStart= naming binary,
// which must be an absolute path.
func RenderService(binary string) (string, error) {
	arg, err := escapeExec(binary)
	if err != nil {
		return "", err
	}
	if !strings.Contains(ServiceTemplate, BinaryPlaceholder) {
		return "", errors.New("render service: template has no binary placeholder")
	}
	return strings.ReplaceAll(ServiceTemplate, BinaryPlaceholder, arg), nil
}

// escapeExec writes path as the first word of an Exec line: specifiers (%)
// are doubled and a path with spaces is quoted. A "$" stays as it is: the
// manager expands variables in arguments, not in the executable's path.
// Characters that would need C escapes are refused rather than escaped, so
// that what the unit runs is plainly readable in the file.
func escapeExec(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("render service: credd path %q is not absolute", path)
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\'' || r == '\\' {
			return "", fmt.Errorf("render service: credd path %q has a character "+
				"a unit file cannot hold plainly", path)
		}
	}
	s := strings.ReplaceAll(path, "%", "%%")
	if strings.ContainsAny(s, " \t") {
		s = `"` + s + `"`
	}
	return s, nil
}
