package protocol

// decodeFlat decodes the common shape of a request, a flat object whose
// members are plain strings (no escapes) and a numeric or string id, by
// hand: this is most of the time spent per get otherwise. It reports false
// for anything else (escapes, nesting, members it does not know, odd
// spacing it cannot vouch for), and the caller then uses encoding/json,
// which stays the reference for what a valid request is.
func decodeFlat(line []byte, req *Request) bool {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false
	}
	i++
	first := true
	for {
		i = skipSpace(line, i)
		if i >= len(line) {
			return false
		}
		if line[i] == '}' {
			return skipSpace(line, i+1) == len(line)
		}
		if !first {
			if line[i] != ',' {
				return false
			}
			i = skipSpace(line, i+1)
		}
		first = false

		key, j, ok := plainString(line, i)
		if !ok {
			return false
		}
		i = skipSpace(line, j)
		if i >= len(line) || line[i] != ':' {
			return false
		}
		i = skipSpace(line, i+1)
		if i >= len(line) {
			return false
		}

		if string(key) == "id" && line[i] != '"' {
			j = i
			for j < len(line) && isNumberByte(line[j]) {
				j++
			}
			if j == i || !validNumber(line[i:j]) {
				return false
			}
			req.ID = RawID(line[i:j:j])
			i = j
			continue
		}
		val, j, ok := plainString(line, i)
		if !ok {
			return false
		}
		switch string(key) {
		case "id":
			req.ID = RawID(line[i:j:j])
		case "op":
			req.Op = string(val)
		case "name":
			req.Name = string(val)
		case "field":
			req.Field = string(val)
		case "agent":
			req.Agent = string(val)
		case "skill":
			req.Skill = string(val)
		default:
			return false
		}
		i = j
	}
}

// plainString reads a JSON string without escapes starting at line[i] and
// returns its contents and the index after its closing quote.
func plainString(line []byte, i int) ([]byte, int, bool) {
	if i >= len(line) || line[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case c == '"':
			return line[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func skipSpace(line []byte, i int) int {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// validNumber accepts the JSON number grammar.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}
