package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps keys, written with array indexes (rule[2].exe), to the
// line they are on.
type positions struct {
	lines map[string]int
}

func (p *positions) line(key string) int {
	if p == nil {
		return 0
	}
	for ; key != ""; key = parentKey(key) {
		if l, ok := p.lines[key]; ok {
			return l
		}
	}
	return 0
}

// parentKey drops the last element of key: rule[2].exe → rule[2] → "".
func parentKey(key string) string {
	if i := strings.LastIndexAny(key, ".["); i > 0 {
		return key[:i]
	}
	return ""
}

// index parses data and records where each key and table header is. It
// returns what it found so far on a syntax error.
func index(data []byte) (*positions, error) {
	pos := &positions{lines: make(map[string]int)}
	arrays := make(map[string]int)
	resolve := func(parts []string) string {
		path := ""
		for _, part := range parts {
			if path != "" {
				path += "."
			}
			path += part
			if n, ok := arrays[path]; ok {
				path = fmt.Sprintf("%s[%d]", path, n-1)
			}
		}
		return path
	}
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		var parts []string
		line := 0
		for it := e.Key(); it.Next(); {
			n := it.Node()
			parts = append(parts, string(n.Data))
			if line == 0 {
				line = p.Shape(n.Raw).Start.Line
			}
		}
		switch e.Kind {
		case unstable.Table:
			prefix = resolve(parts)
		case unstable.ArrayTable:
			parent := resolve(parts[:len(parts)-1])
			full := parts[len(parts)-1]
			if parent != "" {
				full = parent + "." + full
			}
			arrays[full]++
			prefix = fmt.Sprintf("%s[%d]", full, arrays[full]-1)
		case unstable.KeyValue:
			key := strings.Join(parts, ".")
			if prefix != "" {
				key = prefix + "." + key
			}
			if _, dup := pos.lines[key]; !dup {
				pos.lines[key] = line
			}
			continue
		default:
			continue
		}
		if _, dup := pos.lines[prefix]; !dup {
			pos.lines[prefix] = line
		}
	}
	return pos, p.Error()
}

var (
	indexes      = regexp.MustCompile(`\[[0-9]+\]`)
	typeMismatch = regexp.MustCompile(`cannot decode TOML (\S+) into .* of type (\S+)$`)
)

// friendly names Go types as the file's reader knows them.
var friendly = map[string]string{
	"string": "a string", "*string": "a string", "bool": "a boolean", "*bool": "a boolean",
	"config.list": "a string or a list of strings", "[]string": "a list of strings",
	"map[string]string": "a table of strings",
}

// convertDecodeError turns a go-toml error into an *Error with the
// indexed key at the error's line.
func convertDecodeError(file string, pos *positions, err error) error {
	var de *toml.DecodeError
	var se *toml.StrictMissingError
	if errors.As(err, &se) && len(se.Errors) > 0 {
		de = &se.Errors[0]
	} else if !errors.As(err, &de) {
		return &Error{File: file, Err: fmt.Errorf("decode: %v", err)}
	}
	line, _ := de.Position()
	key := strings.Join(de.Key(), ".")
	if pos != nil {
		for k, l := range pos.lines {
			if l == line && indexes.ReplaceAllString(k, "") == key {
				key = k
				break
			}
		}
	}
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	switch m := typeMismatch.FindStringSubmatch(msg); {
	case msg == "unknown field":
		msg = "unknown key"
	case m != nil:
		want, ok := friendly[m[2]]
		if !ok {
			want = m[2]
		}
		msg = fmt.Sprintf("wrong type: got %s %s, want %s", article(m[1]), m[1], want)
	}
	return &Error{File: file, Line: line, Key: key, Err: errors.New(msg)}
}

func article(w string) string {
	if w != "" && strings.ContainsRune("aeiou", rune(w[0])) {
		return "an"
	}
	return "a"
}
