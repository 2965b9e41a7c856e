package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrLineTooLong is returned by [LineReader.ReadLine] for a line longer than
// its limit. The rest of the line is not read: the connection must be closed.
var ErrLineTooLong = errors.New("line too long")

// LineReader reads newline-terminated lines of bounded length.
type LineReader struct {
	r       *bufio.Reader
	max     int
	buf     []byte
	partial bool
}

// NewLineReader returns a LineReader over r that refuses lines longer than
// max bytes (newline excluded).
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{r: bufio.NewReaderSize(r, 16<<10), max: max}
}

// ReadLine returns the next line without its newline (and without a
// carriage return before it). The slice is valid until the next call. At end
// of input with a partial line pending it returns io.ErrUnexpectedEOF.
func (lr *LineReader) ReadLine() ([]byte, error) {
	lr.buf = lr.buf[:0]
	lr.partial = false
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > lr.max+1 { // +1 for the newline
			return nil, ErrLineTooLong
		}
		switch {
		case err == nil:
			var line []byte
			if len(lr.buf) == 0 {
				line = chunk[:len(chunk)-1]
			} else {
				lr.buf = append(lr.buf, chunk...)
				line = lr.buf[:len(lr.buf)-1]
			}
			return bytes.TrimSuffix(line, []byte{'\r'}), nil
		case errors.Is(err, bufio.ErrBufferFull):
			lr.buf = append(lr.buf, chunk...)
		case errors.Is(err, io.EOF):
			if len(lr.buf)+len(chunk) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, io.EOF
		default:
			lr.partial = len(lr.buf)+len(chunk) > 0
			return nil, err
		}
	}
}

// Partial reports whether the last ReadLine failed in the middle of a line,
// as opposed to between lines.
func (lr *LineReader) Partial() bool { return lr.partial }

// Buffered reports how many bytes are read from the connection but not yet
// returned: a daemon flushes replies only when none are, so that pipelined
// requests share one write.
func (lr *LineReader) Buffered() int { return lr.r.Buffered() }

// DecodeRequest parses one request line. On failure it still returns the
// request id when one could be found, with a bad_request *Error.
func DecodeRequest(line []byte) (*Request, *Error) {
	var req Request
	if !utf8.Valid(line) {
		return &req, Errorf(CodeBadRequest, "request is not valid UTF-8")
	}
	if decodeFlat(line, &req) {
		if req.Op == "" {
			return &req, Errorf(CodeBadRequest, "op is required")
		}
		return &req, nil
	}
	req = Request{}
	if err := json.Unmarshal(line, &req); err != nil {
		var probe struct {
			ID RawID `json:"id"`
		}
		if json.Unmarshal(line, &probe) == nil && validID(probe.ID) {
			req.ID = probe.ID
		} else {
			req.ID = nil
		}
		return &req, Errorf(CodeBadRequest, "malformed request: %s", describeJSONError(err))
	}
	if !validID(req.ID) {
		req.ID = nil
		return &req, Errorf(CodeBadRequest, "id must be a number or a string")
	}
	if req.Op == "" {
		return &req, Errorf(CodeBadRequest, "op is required")
	}
	return &req, nil
}

// validID reports whether id is absent, a JSON number or a JSON string.
func validID(id RawID) bool {
	if len(id) == 0 {
		return true
	}
	switch c := id[0]; {
	case c == '"':
		return true
	case c == '-' || (c >= '0' && c <= '9'):
		return true
	}
	return false
}

// describeJSONError turns a decoding error into text that names the problem
// without echoing the input, which may hold a secret.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "request must be a JSON object"
		}
		return typ.Field + " must be " + jsonKind(typ.Type.Kind().String())
	case errors.Is(err, errValueNotString):
		return "every credential value must be a string"
	}
	return "invalid request"
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "float64", "int", "int64":
		return "a number"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}

// AppendResponse appends r as one JSON line, newline included.
func AppendResponse(dst []byte, r *Response) ([]byte, error) {
	dst = append(dst, `{"id":`...)
	if len(r.ID) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, r.ID...)
	}
	if !r.OK || r.Error != nil {
		e, err := json.Marshal(r.Error)
		if err != nil {
			return dst, err
		}
		dst = append(dst, `,"ok":false,"error":`...)
		dst = append(dst, e...)
		return append(dst, "}\n"...), nil
	}
	dst = append(dst, `,"ok":true`...)
	if e, ok := r.Result.(*EncodedGet); ok {
		return append(append(dst, e.Members.Reveal()...), "}\n"...), nil
	}
	if g, ok := r.Result.(*GetResult); ok {
		// The hot path: values are appended directly, without
		// reflection and without an intermediate buffer.
		return append(appendGet(dst, g), "}\n"...), nil
	}
	if r.Result != nil {
		body, err := marshalResult(r.Result)
		if err != nil {
			return dst, err
		}
		// body is an object; splice its members after ok.
		if len(body) > 2 {
			dst = append(dst, ',')
			dst = append(dst, body[1:len(body)-1]...)
		}
	}
	return append(dst, "}\n"...), nil
}

// DecodeResponse parses a response line into its header and, when the
// response succeeded and result is not nil, into result.
func DecodeResponse(line []byte, result any) (*Header, error) {
	var h Header
	if g, ok := result.(*GetResult); ok && decodeGetReply(line, &h, g) {
		return &h, nil
	}
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, err
	}
	if h.OK && result != nil {
		if err := json.Unmarshal(line, result); err != nil {
			return &h, err
		}
	}
	return &h, nil
}

// AppendGetMembers appends the members of a reply to get that follow
// "ok":true, each preceded by a comma, as AppendResponse writes them for g.
func AppendGetMembers(dst []byte, g *GetResult) []byte { return appendGet(dst, g) }

// appendGet appends a get result's members.
func appendGet(dst []byte, g *GetResult) []byte {
	if g.Value != nil {
		dst = append(dst, `,"value":`...)
		return appendValue(dst, g.Value)
	}
	c := g.Credential
	if c == nil {
		return dst
	}
	dst = append(dst, `,"credential":{"name":`...)
	dst = appendString(dst, []byte(c.Name))
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, []byte(c.Type))
	dst = append(dst, `,"fields":{`...)
	for i, k := range sortedKeys(c.Fields) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, []byte(k))
		dst = append(dst, ':')
		dst = appendValue(dst, c.Fields[k])
	}
	dst = append(dst, '}')
	if len(c.Env) > 0 {
		dst = append(dst, `,"env":{`...)
		for i, k := range sortedKeys(c.Env) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, []byte(k))
			dst = append(dst, ':')
			dst = appendString(dst, []byte(c.Env[k]))
		}
		dst = append(dst, '}')
	}
	if c.Main != "" {
		dst = append(dst, `,"main":`...)
		dst = appendString(dst, []byte(c.Main))
	}
	return append(dst, '}')
}

func appendValue(dst []byte, v *Value) []byte {
	if v == nil || v.S == nil {
		return append(dst, `""`...)
	}
	return appendString(dst, v.S.Reveal())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

const hexDigits = "0123456789abcdef"

// appendString appends b as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendString(dst, b []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, b[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

var errValueNotString = errors.New("value must be a JSON string")

// unquote decodes a JSON string literal into a fresh byte slice, so that a
// value never passes through a Go string.
func unquote(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return nil, errValueNotString
	}
	b = b[1 : len(b)-1]
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return nil, errValueNotString
		}
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := decodeU(b[i+1:])
			if n == 0 {
				return nil, errValueNotString
			}
			i += n
			if utf16.IsSurrogate(r) {
				r2, n2 := rune(-1), 0
				if i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					r2, n2 = decodeU(b[i+3:])
				}
				if dec := utf16.DecodeRune(r, r2); n2 > 0 && dec != utf8.RuneError {
					r = dec
					i += 2 + n2
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, errValueNotString
		}
	}
	return out, nil
}

func decodeU(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return 0, 0
	}
	return rune(v), 4
}

// AppendRequest appends req as one JSON line, newline included. A request
// of only id, op, name, field, agent and skill (every get, list, status and
// lock) is written directly; anything else goes through encoding/json.
func AppendRequest(dst []byte, req *Request) ([]byte, error) {
	if !flatRequest(req) {
		b, err := json.Marshal(req)
		if err != nil {
			return dst, err
		}
		return append(append(dst, b...), '\n'), nil
	}
	dst = append(dst, '{')
	if len(req.ID) > 0 {
		dst = append(dst, `"id":`...)
		dst = append(dst, req.ID...)
		dst = append(dst, ',')
	}
	dst = append(dst, `"op":`...)
	dst = appendString(dst, []byte(req.Op))
	for _, m := range [...]struct{ key, val string }{
		{`,"name":`, req.Name}, {`,"field":`, req.Field}, {`,"agent":`, req.Agent}, {`,"skill":`, req.Skill},
	} {
		if m.val != "" {
			dst = append(dst, m.key...)
			dst = appendString(dst, []byte(m.val))
		}
	}
	return append(dst, "}\n"...), nil
}

// flatRequest reports whether req has only the members AppendRequest writes
// itself, and an id it can copy as it is.
func flatRequest(req *Request) bool {
	if req.Type != "" || req.Fields != nil || req.NoCheck || req.Passphrase != nil ||
		req.TTL != 0 || req.Names != nil || req.Online || req.Pending != "" ||
		req.Remember != 0 || req.Caller != nil {
		return false
	}
	if len(req.ID) == 0 || validNumber(req.ID) {
		return true
	}
	_, end, ok := plainString(req.ID, 0)
	return ok && end == len(req.ID)
}
