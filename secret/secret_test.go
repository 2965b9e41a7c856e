package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

const canary = "sk-canary-0123456789abcdef"

func TestEveryPrintedFormIsRedacted(t *testing.T) {
	s := FromString(canary)
	defer s.Wipe()

	var forms []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		forms = append(forms, fmt.Sprintf(verb, s))
	}
	forms = append(forms, s.String(), s.GoString())
	forms = append(forms, fmt.Sprintf("%v", struct{ Key *Secret }{s}))
	forms = append(forms, fmt.Sprintf("%+v", map[string]*Secret{"k": s}))

	j, err := json.Marshal(map[string]any{"k": s})
	if err != nil {
		t.Fatal(err)
	}
	forms = append(forms, string(j))
	txt, _ := s.MarshalText()
	forms = append(forms, string(txt))

	var buf bytes.Buffer
	zl := zerolog.New(&buf)
	zl.Info().Object("key", s).Interface("iface", s).Msg("hello")
	forms = append(forms, buf.String())

	wrapped := fmt.Errorf("while using %v: %w", s, errors.New("boom"))
	forms = append(forms, wrapped.Error())

	for _, f := range forms {
		if strings.Contains(f, canary) || strings.Contains(f, fmt.Sprintf("%x", canary)) {
			t.Errorf("printed form %q reveals the value", f)
		}
		if !strings.Contains(f, "redacted") {
			t.Errorf("printed form %q lacks the placeholder", f)
		}
	}
}

func TestRevealWipeAndReuse(t *testing.T) {
	// Values of every class size, freed and reallocated in a different
	// order, keep their own bytes.
	var all []*Secret
	for n := 0; n < 70000; n += 997 {
		all = append(all, New(bytes.Repeat([]byte{byte(n)}, n)))
	}
	for i := 0; i < len(all); i += 2 {
		all[i].Wipe()
		if all[i].Len() != 0 {
			t.Fatal("wiped secret still has a length")
		}
	}
	for n := 0; n < 70000; n += 991 {
		s := New(bytes.Repeat([]byte{0xAB}, n))
		if got := s.Reveal(); len(got) != n || (n > 0 && got[n-1] != 0xAB) {
			t.Fatalf("New(%d bytes).Reveal() has %d bytes", n, len(got))
		}
		s.Wipe()
	}
	for i := 1; i < len(all); i += 2 {
		n := (i) * 997
		if got := all[i].Reveal(); len(got) != n || (n > 0 && got[0] != byte(n)) {
			t.Fatalf("secret %d changed after other secrets were freed", i)
		}
	}
}

func TestRevealCannotGrowIntoSlot(t *testing.T) {
	s := FromString("abc")
	defer s.Wipe()
	b := s.Reveal()
	if cap(b) != len(b) {
		t.Fatalf("Reveal() capacity %d, want %d: an append would write into the slot", cap(b), len(b))
	}
}

func TestEqualAndClone(t *testing.T) {
	a, b := FromString("x1"), FromString("x1")
	c := a.Clone()
	a.Wipe()
	if !b.Equal(c) {
		t.Fatal("clone differs from an equal secret after the original was wiped")
	}
	if b.Equal(FromString("x2")) {
		t.Fatal("different values compare equal")
	}
}

func TestMemoryIsProtected(t *testing.T) {
	s := FromString("v")
	defer s.Wipe()
	st := MemoryStats()
	if st.Reserved == 0 || st.InUse == 0 {
		t.Fatalf("MemoryStats() = %+v, want reserved and in-use memory", st)
	}
	t.Logf("memory locked: %v %s", st.Locked, st.LockError)
}
