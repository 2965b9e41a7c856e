package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// TestFlatDecoderAgreesWithJSON compares the hand decoder with
// encoding/json on every line where the hand decoder answers.
func TestFlatDecoderAgreesWithJSON(t *testing.T) {
	lines := []string{
		`{"id":1,"op":"get","name":"openai"}`,
		`{"op":"get","name":"a","field":"api_key","agent":"x","skill":"y","id":"abc"}`,
		` { "id" : -1.5e3 , "op" : "status" } `,
		`{"id":0,"op":"hello"}`,
		`{"op":"get","name":"é✓"}`,
		`{"id":01,"op":"get"}`,
		`{"id":1.,"op":"get"}`,
		`{"id":1,"op":"get",}`,
		`{"id":1 "op":"get"}`,
		`{"id":1,"op":"get"} x`,
		`{"id":1,"op":"ge\"t"}`,
		`{"id":true,"op":"get"}`,
		`{"op":"set","fields":{"value":"v"}}`,
		`{}`,
		`[]`,
	}
	for _, l := range lines {
		var fast Request
		if !decodeFlat([]byte(l), &fast) {
			continue
		}
		var ref Request
		if err := json.Unmarshal([]byte(l), &ref); err != nil {
			t.Errorf("hand decoder accepted %q, which encoding/json refuses: %v", l, err)
			continue
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Errorf("decoders disagree on %q:\nhand %+v\njson %+v", l, fast, ref)
		}
	}
}

func FuzzFlatDecoder(f *testing.F) {
	f.Add(`{"id":1,"op":"get","name":"openai"}`)
	f.Add(`{"id":"x","op":"get","field":"f","agent":"a","skill":"s"}`)
	f.Add(` {"id" : 1e5 , "op":"lock"}`)
	f.Fuzz(func(t *testing.T, l string) {
		if !utf8.ValidString(l) {
			return // DecodeRequest refuses such lines before either decoder
		}
		var fast Request
		if !decodeFlat([]byte(l), &fast) {
			return
		}
		var ref Request
		if err := json.Unmarshal([]byte(l), &ref); err != nil {
			t.Fatalf("hand decoder accepted %q, which encoding/json refuses: %v", l, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("decoders disagree on %q", l)
		}
	})
}
