package main

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/airtrain-ai/credd/secret"
)

// needsCredentials names the commands that read or change credentials:
// before them, a locked agent on the encrypted file is unlocked on demand,
// the way gpg-agent asks for a passphrase when a key is first needed.
var needsCredentials = map[string]bool{
	"get": true, "set": true, "rm": true, "list": true, "show": true,
	"exec": true, "env": true, "inject": true, "validate": true,
	"rotate": true, "import": true,
}

// unlockOnDemand unlocks a locked agent before a command that needs its
// credentials, when a passphrase can be had without disturbing the
// command's own input: from AIRTRAIN_CRED_PASSPHRASE, or from a prompt on
// the controlling terminal (/dev/tty, so that stdin stays the command's).
// Otherwise it does nothing and the command reports locked as usual.
func unlockOnDemand(ctx context.Context, name string, e *env) error {
	if !needsCredentials[name] {
		return nil
	}
	st, err := e.client.Status(ctx)
	if err != nil || !st.Locked || st.Backend != "file" {
		return nil // the command itself reports what is wrong
	}
	var pass *secret.Secret
	if p, ok := os.LookupEnv("AIRTRAIN_CRED_PASSPHRASE"); ok {
		pass = secret.FromString(p)
	} else {
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return nil
		}
		defer tty.Close()
		if !term.IsTerminal(int(tty.Fd())) {
			return nil
		}
		fmt.Fprint(tty, "credd is locked; passphrase: ")
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			return fmt.Errorf("read passphrase from the terminal: %w", err)
		}
		pass = secret.New(b)
		secret.Wipe(b)
	}
	defer pass.Wipe()
	if _, err := e.client.Unlock(ctx, pass, 0); err != nil {
		return err
	}
	return nil
}
