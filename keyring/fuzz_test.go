package keyring

import (
	"bytes"
	"errors"
	"testing"

	"filippo.io/age"
)

// fuzzPass opens the seed files in testdata/fuzz/FuzzDecodeFile.
const fuzzPass = "fuzz"

// FuzzDecodeFile feeds arbitrary bytes to the file reader: it must return
// records or an error wrapping ErrBadPassphrase or ErrCorrupt, and never
// panic.
func FuzzDecodeFile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("age-encryption.org/v1\n-> scrypt AAAA 10\n\n--- AAAA\n"))
	f.Add([]byte("-----BEGIN AGE ENCRYPTED FILE-----\n-----END AGE ENCRYPTED FILE-----\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := age.NewScryptIdentity(fuzzPass)
		if err != nil {
			t.Fatal(err)
		}
		// Keep each input cheap: the seeds use work factor 10.
		id.SetMaxWorkFactor(12)
		docs, err := decodeFile(bytes.Clone(data), id)
		if err != nil {
			if docs != nil {
				t.Fatalf("decodeFile returned records with error %v", err)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrBadPassphrase) {
				t.Fatalf("decodeFile error %v wraps neither ErrCorrupt nor ErrBadPassphrase", err)
			}
			return
		}
		for _, d := range docs {
			if _, err := d.record(); err != nil {
				// A decoded file may still hold a bad name; Unlock
				// reports it as damage.
				continue
			}
		}
		wipeDocs(docs)
	})
}
