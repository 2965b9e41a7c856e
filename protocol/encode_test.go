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

// sameRequest checks that AppendRequest and encoding/json write lines that
// encoding/json reads back as the same request.
func sameRequest(t *testing.T, req *Request) {
	t.Helper()
	fast, fastErr := AppendRequest(nil, req)
	ref, refErr := json.Marshal(req)
	if (fastErr != nil) != (refErr != nil) {
		t.Fatalf("AppendRequest error %v, encoding/json error %v", fastErr, refErr)
	}
	if fastErr != nil {
		return
	}
	if len(fast) == 0 || fast[len(fast)-1] != '\n' {
		t.Fatalf("AppendRequest wrote %q, not one line", fast)
	}
	var a, b map[string]any
	if err := json.Unmarshal(fast, &a); err != nil {
		t.Fatalf("AppendRequest wrote %q, which encoding/json cannot read: %v", fast, err)
	}
	if err := json.Unmarshal(ref, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("requests differ:\nhand %s\njson %s", fast, ref)
	}
}

func TestAppendRequestMatchesJSON(t *testing.T) {
	base := Request{ID: RawID(`12`), Op: "get", Name: "openai", Field: "api_key", Agent: "a \"b\"", Skill: "é\n\xff<>&"}
	sameRequest(t, &base)
	sameRequest(t, &Request{Op: "status"})
	sameRequest(t, &Request{ID: RawID(`"str-id"`), Op: "list"})
	sameRequest(t, &Request{ID: RawID(` 1`), Op: "list"})
	sameRequest(t, &Request{ID: RawID(`{`), Op: "list"})

	// Every other member of Request, set alone, must reach the wire too:
	// a member added to Request without teaching AppendRequest fails here.
	rv := reflect.ValueOf(&base).Elem()
	for i := 0; i < rv.NumField(); i++ {
		req := base
		f := reflect.ValueOf(&req).Elem().Field(i)
		switch name := rv.Type().Field(i).Name; name {
		case "ID", "Op", "Name", "Field", "Agent", "Skill":
			continue
		case "Fields":
			req.Fields = map[string]*Value{"value": NewValue(secret.FromString("v"))}
		case "Passphrase":
			req.Passphrase = NewValue(secret.FromString("p"))
		case "Caller":
			req.Caller = &Caller{Exe: "/bin/x"}
		default:
			switch f.Kind() {
			case reflect.String:
				f.SetString("x")
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Float64:
				f.SetFloat(1.5)
			case reflect.Slice:
				f.Set(reflect.ValueOf([]string{"x"}))
			default:
				t.Fatalf("Request.%s: add a case for its kind %s", name, f.Kind())
			}
		}
		sameRequest(t, &req)
	}
}

func FuzzAppendRequest(f *testing.F) {
	f.Add("7", "get", "openai", "api_key", "agent", "skill")
	f.Fuzz(func(t *testing.T, id, op, name, field, agent, skill string) {
		sameRequest(t, &Request{ID: RawID(id), Op: op, Name: name, Field: field, Agent: agent, Skill: skill})
	})
}

// TestEncodedGetMatchesGetResult checks that a reply from members rendered
// ahead is the same line as the reply encoded at once.
func TestEncodedGetMatchesGetResult(t *testing.T) {
	cred := &Credential{Name: "n", Type: "openai", Main: "api_key",
		Fields: map[string]*Value{"api_key": NewValue(secret.FromString("sk-\"x\"\n"))},
		Env:    map[string]string{"api_key": "OPENAI_API_KEY"}}
	defer cred.Wipe()
	g := &GetResult{Credential: cred}
	want, err := AppendResponse(nil, &Response{ID: RawID(`"id-1"`), OK: true, Result: g})
	if err != nil {
		t.Fatal(err)
	}
	members := secret.New(AppendGetMembers(nil, g))
	defer members.Wipe()
	got, err := AppendResponse(nil, &Response{ID: RawID(`"id-1"`), OK: true, Result: &EncodedGet{Members: members}})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("rendered reply differs:\n%q\n%q", got, want)
	}
}
