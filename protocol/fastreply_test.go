package protocol

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/airtrain-ai/credd/secret"
)

// plainGet is a GetResult with its secrets revealed, for comparing.
type plainGet struct {
	Credential *plainCred
	Value      *string
}

type plainCred struct {
	Name, Type, Main string
	Fields           map[string]string
	Env              map[string]string
}

func reveal(g *GetResult) plainGet {
	var p plainGet
	if g.Value != nil {
		s := string(g.Value.S.Reveal())
		p.Value = &s
	}
	if c := g.Credential; c != nil {
		p.Credential = &plainCred{Name: c.Name, Type: c.Type, Main: c.Main, Env: c.Env}
		if c.Fields != nil {
			p.Credential.Fields = map[string]string{}
			for k, v := range c.Fields {
				if v == nil || v.S == nil {
					p.Credential.Fields[k] = "<nil>"
					continue
				}
				p.Credential.Fields[k] = string(v.S.Reveal())
			}
		}
	}
	return p
}

// checkGetReply decodes line by hand and, where the hand decoder answers,
// checks that encoding/json reads the same header and result.
func checkGetReply(t *testing.T, line string) bool {
	t.Helper()
	var h Header
	var fast GetResult
	if !decodeGetReply([]byte(line), &h, &fast) {
		return false
	}
	defer fast.Credential.Wipe()
	var refH Header
	if err := json.Unmarshal([]byte(line), &refH); err != nil {
		t.Fatalf("hand decoder accepted %q, which encoding/json refuses: %v", line, err)
	}
	var ref GetResult
	if err := json.Unmarshal([]byte(line), &ref); err != nil {
		t.Fatalf("hand decoder accepted %q, which encoding/json refuses: %v", line, err)
	}
	defer ref.Credential.Wipe()
	if !reflect.DeepEqual(h, refH) {
		t.Fatalf("headers differ on %q:\nhand %+v\njson %+v", line, h, refH)
	}
	if a, b := reveal(&fast), reveal(&ref); !reflect.DeepEqual(a, b) {
		t.Fatalf("results differ on %q:\nhand %+v\njson %+v", line, a, b)
	}
	return true
}

func TestGetReplyDecoderAgreesWithJSON(t *testing.T) {
	cases := []struct {
		line string
		fast bool // whether the hand decoder should take it
	}{
		{`{"id":1,"ok":true,"credential":{"name":"openai","type":"openai","fields":{"api_key":"sk-x"},"env":{"api_key":"OPENAI_API_KEY"},"main":"api_key"}}`, true},
		{`{"id":"a-7","ok":true,"value":"v\n\"\\\u00e9\ud83d\ude00"}`, true},
		{` {"ok" : true , "id" : -1.5e3, "credential":{"fields":{}}}` + "\r\n", true},
		{`{"id":1,"ok":true,"credential":{"name":"é✓","type":"generic","fields":{"value":"\u0000"}}}`, true},
		{`{"id":1,"ok":true,"value":"bad \ud800 surrogate"}`, true},
		{`{"id":1,"ok":false,"error":{"code":"locked","message":"m"}}`, false},
		{`{"id":1,"ok":true,"value":null}`, false},
		{`{"id":1,"ok":true,"ok":true,"value":"v"}`, false},
		{`{"id":1,"ok":true,"ID":2,"value":"v"}`, false},
		{`{"id":1,"ok":true,"credential":{"name":"a\u0062"}}`, false},
		{`{"id":1,"ok":true,"credential":{"fields":{"a":"1","a":"2"}}}`, false},
		{`{"id":1,"ok":true,"value":"raw` + "\x01" + `control"}`, false},
		{`{"id":1,"ok":true,"value":"\x"}`, false},
		{`{"id":1,"ok":true,"value":"\u12G4"}`, false},
		{`{"id":01,"ok":true,"value":"v"}`, false},
		{`{"id":1,"ok":true,"value":"v"} x`, false},
		{`{"id":1,"ok":true,"value":"v",}`, false},
		{`{"ok":true,"value":"v"}`, false},
		{`{"id":1,"value":"v"}`, false},
		{`{"id":1,"ok":true,"credential":{"name":"` + "\xff" + `"}}`, false},
	}
	for _, c := range cases {
		if got := checkGetReply(t, c.line); got != c.fast {
			t.Errorf("hand decoder took %q: %v, want %v", c.line, got, c.fast)
		}
	}
}

// TestDaemonRepliesTakeTheFastPath checks that what AppendResponse writes
// for a get is what the hand decoder reads, so the client's fast path is
// the path real replies take.
func TestDaemonRepliesTakeTheFastPath(t *testing.T) {
	cred := &Credential{
		Name: "openai", Type: "openai", Main: "api_key",
		Fields: map[string]*Value{
			"api_key":         NewValue(secret.New([]byte("sk-\"quoted\"\n\u00e9"))),
			"organization_id": NewValue(secret.New([]byte("org-1"))),
		},
		Env: map[string]string{"api_key": "OPENAI_API_KEY", "organization_id": "OPENAI_ORGANIZATION_ID"},
	}
	defer cred.Wipe()
	for _, res := range []*GetResult{{Credential: cred}, {Value: cred.Fields["api_key"]}} {
		line, err := AppendResponse(nil, &Response{ID: RawID(`42`), OK: true, Result: res})
		if err != nil {
			t.Fatal(err)
		}
		if !checkGetReply(t, string(line)) {
			t.Errorf("hand decoder declined the daemon's own reply %q", line)
		}
	}
}

func FuzzGetReplyDecoder(f *testing.F) {
	f.Add(`{"id":1,"ok":true,"credential":{"name":"n","type":"t","fields":{"value":"v"},"env":{"value":"N"},"main":"value"}}`)
	f.Add(`{"id":"x","ok":true,"value":"a\tb\u0041"}`)
	f.Add(`{"id":1,"ok":false,"error":{"code":"denied","message":"no"}}`)
	f.Fuzz(func(t *testing.T, line string) {
		checkGetReply(t, line)
	})
}
