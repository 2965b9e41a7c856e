package protocol

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/airtrain-ai/credd/secret"
)

// TestGetFastPathMatchesJSON checks the hand-written get encoder against
// encoding/json on values with every kind of character.
func TestGetFastPathMatchesJSON(t *testing.T) {
	values := []string{"", "plain", "quote\" back\\slash", "new\nline\ttab\r", "\x00\x01\x1f\x7f",
		"unicode é ✓ 🔑", "<html>&amp;", "bad utf8 \xff\xfe"}
	for _, v := range values {
		cred := &Credential{Name: "n.1", Type: "generic",
			Fields: map[string]*Value{"value": NewValue(secret.FromString(v)), "b": NewValue(secret.FromString(v + "x"))},
			Env:    map[string]string{"value": "N_1", "b": "N_1_B"}, Main: "value"}
		for _, res := range []*GetResult{{Credential: cred}, {Value: NewValue(secret.FromString(v))}} {
			line, err := AppendResponse(nil, &Response{ID: RawID(`7`), OK: true, Result: res})
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				ID         int `json:"id"`
				OK         bool
				Value      *string
				Credential *struct {
					Name, Type, Main string
					Fields, Env      map[string]string
				}
			}
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("fast path wrote invalid JSON for value #%d: %v", len(v), err)
			}
			want := v
			if v == "bad utf8 \xff\xfe" {
				want = "bad utf8 \ufffd\ufffd"
			}
			switch {
			case res.Value != nil:
				if got.Value == nil || *got.Value != want {
					t.Fatalf("value of %d bytes did not round-trip", len(v))
				}
			default:
				c := got.Credential
				if c == nil || c.Name != "n.1" || c.Type != "generic" || c.Main != "value" ||
					c.Fields["value"] != want || c.Fields["b"] != want+"x" ||
					!reflect.DeepEqual(c.Env, cred.Env) {
					t.Fatalf("credential did not round-trip: %+v", c)
				}
			}
			if !got.OK || got.ID != 7 {
				t.Fatalf("header lost: %s", line)
			}
		}
	}
}

func TestValidName(t *testing.T) {
	long := string(make([]byte, 129))
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"openai", true}, {"a", true}, {"A_b-c.d9", true}, {"_x", true}, {"9lives", true},
		{"", false}, {".hidden", false}, {"-flag", false}, {"a/b", false}, {"a b", false},
		{"é", false}, {long, false}, {"x" + string(make([]byte, 0)) + "y", true},
	} {
		if got := ValidName(tt.name); got != tt.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
	ok128 := make([]byte, 128)
	for i := range ok128 {
		ok128[i] = 'a'
	}
	if !ValidName(string(ok128)) || ValidName(string(ok128)+"a") {
		t.Error("the 128-character limit is off")
	}
}
