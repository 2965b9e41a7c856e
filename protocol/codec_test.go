package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary lines to DecodeRequest. It must never
// panic; a rejected line gets a bad_request error and, at most, a valid id;
// an accepted line keeps its op and id through a re-encode and decode.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"op":"hello"}`,
		`{"id":"a","op":"get","name":"openai","field":"api_key"}`,
		`{"id":2,"op":"set","name":"k","fields":{"value":"v\u00e9\ud83d\ude00"}}`,
		`{"id":3,"op":"unlock","passphrase":"p","ttl_s":1.5}`,
		`{"op":"get","id":{"x":1}}`,
		`[1,2]`, `"get"`, `42`, `{"op":7}`, `{"id":1}`, `{"fields":[]}`,
		`{"id":1,"op":"set","fields":{"a":1}}`,
		"\xff\xfe", `{"id":1,"op":"get","name":"\ud800"}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, perr := DecodeRequest(line)
		if req == nil {
			t.Fatal("DecodeRequest returned a nil request")
		}
		if perr != nil {
			if perr.Code != CodeBadRequest {
				t.Fatalf("rejected with code %q, want bad_request", perr.Code)
			}
			if len(req.ID) > 0 && !validID(req.ID) {
				t.Fatalf("rejected request keeps an invalid id %q", req.ID)
			}
			return
		}
		if req.Op == "" || !validID(req.ID) {
			t.Fatalf("accepted request with op %q, id %q", req.Op, req.ID)
		}
		again, err := json.Marshal(struct {
			ID RawID  `json:"id,omitempty"`
			Op string `json:"op"`
		}{req.ID, req.Op})
		if err != nil {
			t.Fatalf("re-encode op and id: %v", err)
		}
		req2, perr := DecodeRequest(again)
		if perr != nil {
			t.Fatalf("re-encoded request rejected: %v", perr)
		}
		if req2.Op != req.Op || !jsonEqual(req2.ID, req.ID) {
			t.Fatalf("round trip changed op %q -> %q or id %q -> %q", req.Op, req2.Op, req.ID, req2.ID)
		}
	})
}

// jsonEqual compares two JSON values by meaning, so that a compacted id
// equals the original.
func jsonEqual(a, b RawID) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func TestDecodeRequestRejects(t *testing.T) {
	tests := []struct {
		name, line, want string
		keepID           bool
	}{
		{"invalid UTF-8", "{\"op\":\"get\",\"name\":\"\xff\"}", "UTF-8", false},
		{"array", `[1,2,3]`, "JSON object", false},
		{"string", `"hello"`, "JSON object", false},
		{"number", `42`, "JSON object", false},
		{"id as object", `{"id":{"a":1},"op":"get"}`, "id", false},
		{"id as bool", `{"id":true,"op":"get"}`, "id", false},
		{"op as number", `{"id":1,"op":7}`, "op must be a string", true},
		{"fields as array", `{"id":1,"op":"set","fields":[]}`, "fields must be an object", true},
		{"field value as number", `{"id":1,"op":"set","fields":{"a":1}}`, "must be a string", true},
		{"ttl as string", `{"id":1,"op":"unlock","ttl_s":"5"}`, "ttl_s must be a number", true},
		{"missing op", `{"id":1}`, "op is required", true},
		{"truncated JSON", `{"id":1,"op":"ge`, "invalid JSON", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, perr := DecodeRequest([]byte(tt.line))
			if perr == nil || perr.Code != CodeBadRequest {
				t.Fatalf("DecodeRequest(%q) = %v, want bad_request", tt.line, perr)
			}
			if !strings.Contains(perr.Message, tt.want) {
				t.Errorf("DecodeRequest(%q) message %q, want it to mention %q", tt.line, perr.Message, tt.want)
			}
			if tt.keepID && string(req.ID) != "1" {
				t.Errorf("DecodeRequest(%q) id = %q, want 1 kept for the reply", tt.line, req.ID)
			}
		})
	}
}

func TestDecodeRequestNeverEchoesValues(t *testing.T) {
	const canary = "canary-8d1f0c2e"
	for _, line := range []string{
		`{"id":1,"op":"set","fields":{"a":"` + canary + `"},"ttl_s":"x"}`,
		`{"id":1,"op":"set","fields":{"a":"` + canary + `",}}`,
		`{"id":1,"op":"unlock","passphrase":"` + canary + `\q"}`,
	} {
		_, perr := DecodeRequest([]byte(line))
		if perr == nil {
			t.Fatalf("DecodeRequest accepted a malformed line")
		}
		if strings.Contains(perr.Message, canary) {
			t.Fatalf("error message repeats a value from the request")
		}
	}
}

func TestLineReader(t *testing.T) {
	in := "one\r\n\ntwo\n" + strings.Repeat("x", 40) + "\nthree"
	lr := NewLineReader(strings.NewReader(in), 32)
	for _, want := range []string{"one", "", "two"} {
		got, err := lr.ReadLine()
		if err != nil || string(got) != want {
			t.Fatalf("ReadLine = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := lr.ReadLine(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("ReadLine of a 40-byte line with max 32: %v, want ErrLineTooLong", err)
	}

	lr = NewLineReader(strings.NewReader("half a line"), 32)
	if _, err := lr.ReadLine(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadLine at EOF mid-line: %v, want io.ErrUnexpectedEOF", err)
	}
	lr = NewLineReader(strings.NewReader(""), 32)
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Fatalf("ReadLine of nothing: %v, want io.EOF", err)
	}
}

// TestLineReaderLongLineAcrossBuffers checks a line longer than the reader's
// internal buffer but within the limit, and one just past the limit.
func TestLineReaderLongLineAcrossBuffers(t *testing.T) {
	const max = 100 << 10
	ok := strings.Repeat("a", max)
	lr := NewLineReader(strings.NewReader(ok+"\n"+ok+"b\n"), max)
	got, err := lr.ReadLine()
	if err != nil || len(got) != max {
		t.Fatalf("ReadLine of a %d-byte line = %d bytes, %v", max, len(got), err)
	}
	if _, err := lr.ReadLine(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("ReadLine of a %d-byte line: %v, want ErrLineTooLong", max+1, err)
	}
}

func TestAppendResponseIsOneLine(t *testing.T) {
	r := &Response{ID: RawID(`"x"`), Error: Errorf(CodeNotFound, "no credential named %q", "a\nb")}
	b, err := AppendResponse(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b, []byte("\n")) != 1 || b[len(b)-1] != '\n' {
		t.Fatalf("AppendResponse = %q, want exactly one line", b)
	}
	h, err := DecodeResponse(bytes.TrimSpace(b), nil)
	if err != nil || h.OK || h.Error.Code != CodeNotFound || string(h.ID) != `"x"` {
		t.Fatalf("DecodeResponse(%q) = %+v, %v", b, h, err)
	}
}
