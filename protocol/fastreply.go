package protocol

import "unicode/utf8"

// decodeGetReply decodes a successful get reply of the shape credd sends,
//
//	{"id":ID,"ok":true,"credential":{"name":..,"type":..,"fields":{..},"env":{..},"main":..}}
//
// or the same with "value" in place of "credential", by hand: on the
// client's side of a get, encoding/json costs more than the round trip. It
// reports false, having changed nothing, for anything it cannot vouch for
// (a failed reply, a null, an escape in a name, a repeated or unknown
// member, whitespace it does not expect), and the caller then uses
// encoding/json, which stays the reference for what a reply means. Secret
// values go through [Value.UnmarshalJSON], as they do under encoding/json.
func decodeGetReply(line []byte, h *Header, g *GetResult) bool {
	var (
		d       replyDecoder
		out     GetResult
		id      RawID
		sawOK   bool
		sawCred bool
		sawVal  bool
	)
	d.line = line
	ok := d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			if id != nil {
				return false
			}
			id = d.id()
			return id != nil
		case "ok":
			if sawOK || !d.literal("true") {
				return false
			}
			sawOK = true
			return true
		case "credential":
			if sawCred {
				return false
			}
			sawCred = true
			out.Credential = d.credential()
			return out.Credential != nil
		case "value":
			if sawVal {
				return false
			}
			sawVal = true
			out.Value = d.value()
			return out.Value != nil
		}
		return false
	})
	if ok {
		d.space()
		ok = d.i == len(d.line) && sawOK && id != nil
	}
	if !ok {
		out.Credential.Wipe()
		if out.Value != nil {
			out.Value.S.Wipe()
		}
		return false
	}
	*h = Header{ID: id, OK: true}
	*g = out
	return true
}

// replyDecoder walks one reply line; i is the next byte to read.
type replyDecoder struct {
	line []byte
	i    int
}

// space skips JSON whitespace.
func (d *replyDecoder) space() {
	for d.i < len(d.line) {
		switch d.line[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// object reads an object whose keys are plain strings, calling member for
// each key with d at the start of its value. It stops at the first false.
func (d *replyDecoder) object(member func(key []byte) bool) bool {
	d.space()
	if d.i >= len(d.line) || d.line[d.i] != '{' {
		return false
	}
	d.i++
	for first := true; ; first = false {
		d.space()
		if d.i >= len(d.line) {
			return false
		}
		if d.line[d.i] == '}' {
			d.i++
			return true
		}
		if !first {
			if d.line[d.i] != ',' {
				return false
			}
			d.i++
			d.space()
		}
		key, ok := d.plain()
		if !ok {
			return false
		}
		d.space()
		if d.i >= len(d.line) || d.line[d.i] != ':' {
			return false
		}
		d.i++
		d.space()
		if !member(key) {
			return false
		}
	}
}

// plain reads a string without escapes whose bytes are valid UTF-8, which
// encoding/json would give back unchanged.
func (d *replyDecoder) plain() ([]byte, bool) {
	s, j, ok := plainString(d.line, d.i)
	if !ok || !utf8.Valid(s) {
		return nil, false
	}
	d.i = j
	return s, true
}

// plainText reads a plain string as a Go string.
func (d *replyDecoder) plainText() (string, bool) {
	s, ok := d.plain()
	return string(s), ok
}

// literal reads the bare word w (true, false, null).
func (d *replyDecoder) literal(w string) bool {
	if len(d.line)-d.i < len(w) || string(d.line[d.i:d.i+len(w)]) != w {
		return false
	}
	d.i += len(w)
	return true
}

// id reads a number or a plain string and returns a copy of its bytes, as
// encoding/json fills a json.RawMessage.
func (d *replyDecoder) id() RawID {
	start := d.i
	if d.i < len(d.line) && d.line[d.i] == '"' {
		if _, ok := d.plain(); !ok {
			return nil
		}
	} else {
		for d.i < len(d.line) && isNumberByte(d.line[d.i]) {
			d.i++
		}
		if !validNumber(d.line[start:d.i]) {
			return nil
		}
	}
	return append(RawID(nil), d.line[start:d.i]...)
}

// value reads a JSON string literal, escapes allowed, into a new secret.
func (d *replyDecoder) value() *Value {
	if d.i >= len(d.line) || d.line[d.i] != '"' {
		return nil
	}
	for j := d.i + 1; j < len(d.line); j++ {
		switch c := d.line[j]; {
		case c == '\\':
			j++
		case c < 0x20:
			return nil
		case c == '"':
			v := new(Value)
			if v.UnmarshalJSON(d.line[d.i:j+1]) != nil {
				return nil
			}
			d.i = j + 1
			return v
		}
	}
	return nil
}

// credential reads a credential object; on failure it wipes what it read.
func (d *replyDecoder) credential() *Credential {
	c := new(Credential)
	var seen uint8 // one bit a member
	ok := d.object(func(key []byte) bool {
		var bit uint8
		switch string(key) {
		case "name":
			bit = 1
		case "type":
			bit = 2
		case "main":
			bit = 4
		case "fields":
			bit = 8
		case "env":
			bit = 16
		}
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		var ok bool
		switch bit {
		case 1:
			c.Name, ok = d.plainText()
		case 2:
			c.Type, ok = d.plainText()
		case 4:
			c.Main, ok = d.plainText()
		case 8:
			c.Fields = map[string]*Value{}
			ok = d.object(func(f []byte) bool {
				if _, dup := c.Fields[string(f)]; dup {
					return false
				}
				v := d.value()
				if v == nil {
					return false
				}
				c.Fields[string(f)] = v
				return true
			})
		case 16:
			c.Env = map[string]string{}
			ok = d.object(func(f []byte) bool {
				if _, dup := c.Env[string(f)]; dup {
					return false
				}
				s, ok := d.plainText()
				c.Env[string(f)] = s
				return ok
			})
		}
		return ok
	})
	if !ok {
		c.Wipe()
		return nil
	}
	return c
}
