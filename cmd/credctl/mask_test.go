package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the release timer and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const maskValue = "sk-Zq81nB7vXc2LmP0aQw4eRt6yUi9oPs3dFg5hJk7lZx"

func TestMaskWriterSplitAtEveryOffset(t *testing.T) {
	secrets := []maskSecret{{name: "openai", value: maskValue}, {name: "db", value: "hunter22"}}
	inputs := []string{
		maskValue,
		"key=" + maskValue + " end\n",
		"a hunter22 b " + maskValue + maskValue + " c\n",
		"sk-sk-" + maskValue + "hunter2hunter22",
		"no secret here, only sk- and hunter2\n",
	}
	for _, in := range inputs {
		want := strings.NewReplacer(maskValue, "<redacted:openai>", "hunter22", "<redacted:db>").Replace(in)
		for cut := 0; cut <= len(in); cut++ {
			for cut2 := cut; cut2 <= len(in); cut2 += 7 {
				var out lockedBuffer
				m := newMaskWriter(&out, secrets)
				m.delay = time.Hour // no release during the test
				for _, part := range []string{in[:cut], in[cut:cut2], in[cut2:]} {
					if n, err := m.Write([]byte(part)); err != nil || n != len(part) {
						t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(part))
					}
				}
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
				if got := out.String(); got != want {
					t.Fatalf("input %d bytes cut at %d and %d: got %d bytes %q..., want the values replaced",
						len(in), cut, cut2, len(got), redactForLog(got))
				}
			}
		}
	}
}

// redactForLog keeps a failing test from printing a test value whole.
func redactForLog(s string) string {
	return strings.ReplaceAll(s, maskValue, "[VALUE]")
}

func TestMaskWriterByteAtATime(t *testing.T) {
	var out lockedBuffer
	m := newMaskWriter(&out, []maskSecret{{name: "openai", value: maskValue}})
	m.delay = time.Hour
	in := "x" + maskValue + "y" + maskValue[:10] + "z"
	for i := 0; i < len(in); i++ {
		m.Write([]byte{in[i]})
	}
	m.Close()
	if got, want := out.String(), "x<redacted:openai>y"+maskValue[:10]+"z"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMaskWriterHoldsBackAtMostLongestMinusOne(t *testing.T) {
	var out lockedBuffer
	m := newMaskWriter(&out, []maskSecret{{name: "openai", value: maskValue}})
	m.delay = time.Hour
	m.Write([]byte("hello " + maskValue[:len(maskValue)-1]))
	if got := out.String(); got != "hello " {
		t.Fatalf("before the value completes, got %q, want %q", redactForLog(got), "hello ")
	}
	m.Write([]byte("!"))
	if got := out.String(); got != "hello "+maskValue[:len(maskValue)-1]+"!" {
		t.Fatalf("after a byte that ends the match, got %q", redactForLog(got))
	}
	m.Close()
}

func TestMaskWriterReleasesShortStartOnSilence(t *testing.T) {
	var out lockedBuffer
	m := newMaskWriter(&out, []maskSecret{{name: "openai", value: maskValue}})
	m.delay = 10 * time.Millisecond
	m.Write([]byte("prompt sk-"))
	deadline := time.Now().Add(10 * time.Second)
	for out.String() != "prompt sk-" {
		if time.Now().After(deadline) {
			t.Fatalf("held-back %q never released: got %q", "sk-", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The rest of the value still counts as the value.
	m.Write([]byte(maskValue[3:] + "\n"))
	m.Close()
	if got, want := out.String(), "prompt sk-<redacted:openai>\n"; got != want {
		t.Fatalf("got %q, want %q", redactForLog(got), want)
	}
}

func TestMaskWriterKeepsLongStartUntilMoreOutput(t *testing.T) {
	var out lockedBuffer
	m := newMaskWriter(&out, []maskSecret{{name: "openai", value: maskValue}})
	m.delay = time.Millisecond
	half := maskValue[:len(maskValue)/2]
	m.Write([]byte(half))
	time.Sleep(50 * time.Millisecond) // many release periods
	if got := out.String(); got != "" {
		t.Fatalf("a long start of the value was released: %d bytes", len(got))
	}
	m.Write([]byte(maskValue[len(half):]))
	m.Close()
	if got := out.String(); got != "<redacted:openai>" {
		t.Fatalf("got %q, want the value replaced", redactForLog(got))
	}
}

func TestMaskWriterIgnoresShortValuesAndPassesThrough(t *testing.T) {
	var out lockedBuffer
	m := newMaskWriter(&out, []maskSecret{{name: "tiny", value: "abc"}})
	m.Write([]byte("abcabc"))
	m.Close()
	if got := out.String(); got != "abcabc" {
		t.Fatalf("got %q, want output unchanged", got)
	}
}

func TestMaskWriterLongerValueWins(t *testing.T) {
	var out lockedBuffer
	m := newMaskWriter(&out, []maskSecret{
		{name: "short", value: "secret"},
		{name: "long", value: "secret-and-more"},
	})
	m.delay = time.Hour
	m.Write([]byte("secret-and-more secret"))
	m.Close()
	if got, want := out.String(), "<redacted:long> <redacted:short>"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
