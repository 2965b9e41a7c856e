// Package importer reads credentials from the files Airtrain's
// BaseCredentials.save_to_file writes (.env, .json, .yaml/.yml) and from a
// process environment, and maps what it finds to credd's credential types.
//
// A .env file and an environment name fields by their variable
// (OPENAI_API_KEY); JSON and YAML files name them by Airtrain's field name
// (openai_api_key), which is the variable in lower case. Both are looked up
// in a [catalog.Registry] by variable. The result is a list of candidate
// credentials, one per type found, for the caller to check and store, and
// the keys that were skipped with the reason.
//
// Parse errors name the file and, where the format allows, the line; they
// never quote the file's contents, since those are secrets.
package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/joho/godotenv"
	"gopkg.in/yaml.v3"

	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/secret"
)

// MaxFileSize is the largest file FromFile reads.
const MaxFileSize = 1 << 20

// Format is a file format Airtrain writes.
type Format string

// Formats.
const (
	Dotenv Format = "env"
	JSON   Format = "json"
	YAML   Format = "yaml"
)

// Candidate is a credential found in a source: its proposed name (the type's
// name), its type and its fields. The caller owns the secrets.
type Candidate struct {
	Name   string
	Type   string
	Fields map[string]*secret.Secret
	// Check is the result of the type's offline check: nil or a
	// *catalog.CheckError.
	Check error
}

// Skipped is a key the importer did not use, and why.
type Skipped struct {
	Key    string
	Reason string
}

// Result is what an import found. Candidates are sorted by name and Skipped
// by key.
type Result struct {
	Candidates []*Candidate
	Skipped    []Skipped
}

// Wipe zeroes every value the result holds.
func (r *Result) Wipe() {
	for _, c := range r.Candidates {
		for _, s := range c.Fields {
			s.Wipe()
		}
	}
}

// FormatOf returns the format of path from its suffix: .env, .json, .yaml or
// .yml. A base name that is exactly ".env" counts as .env.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".env":
		return Dotenv, nil
	case ".json":
		return JSON, nil
	case ".yaml", ".yml":
		return YAML, nil
	}
	return "", fmt.Errorf("%s: unsupported file type (want .env, .json, .yaml or .yml)", path)
}

// FromFile reads path and imports it. As Airtrain's from_file does, a path
// without a suffix is tried with .env, .json, .yaml and .yml appended, in
// that order.
func FromFile(path string, reg *catalog.Registry) (*Result, error) {
	if filepath.Ext(path) == "" {
		for _, ext := range []string{".env", ".json", ".yaml", ".yml"} {
			if _, err := os.Stat(path + ext); err == nil {
				path += ext
				break
			}
		}
	}
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open credentials file: %w", err)
	}
	defer f.Close()
	data := make([]byte, MaxFileSize+1)
	n, err := io.ReadFull(f, data)
	defer secret.Wipe(data)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	return Parse(path, data[:n], format, reg)
}

// Parse imports data in the given format; name is used in error messages
// only. A malformed file gives an error naming it (and the line where the
// format allows) and no result.
func Parse(name string, data []byte, format Format, reg *catalog.Registry) (*Result, error) {
	var (
		kv  []keyValue
		err error
	)
	switch format {
	case Dotenv:
		kv, err = parseDotenv(name, data)
	case JSON:
		kv, err = parseJSON(name, data)
	case YAML:
		kv, err = parseYAML(name, data)
	default:
		return nil, fmt.Errorf("%s: unknown format %q", name, format)
	}
	if err != nil {
		return nil, err
	}
	return build(kv, reg, true), nil
}

// FromEnviron imports credentials from an environment in the form of
// os.Environ. Variables whose names are not specific to a provider (HOST,
// VERSION, PROJECT_ID) are taken only beside a provider-specific one of the
// same type, and types that have none (ollama, lancedb) are not imported
// from an environment: any process may have HOST set. Unknown variables are
// not reported, since an environment holds many.
func FromEnviron(environ []string, reg *catalog.Registry) *Result {
	kv := make([]keyValue, 0, len(environ))
	for _, e := range environ {
		k, v, ok := strings.Cut(e, "=")
		if ok && k != "" {
			kv = append(kv, keyValue{key: k, envVar: k, value: v})
		}
	}
	res := build(kv, reg, false)
	known := res.Skipped[:0]
	for _, s := range res.Skipped {
		if s.Reason != reasonUnknown {
			known = append(known, s)
		}
	}
	res.Skipped = known
	return res
}

// keyValue is one entry of a source: the key as written, the variable it
// stands for, and its value. present is false for a null.
type keyValue struct {
	key    string
	envVar string
	value  string
	null   bool
	line   int
}

const (
	reasonUnknown = "not a variable of any credential type"
	reasonEmpty   = "empty"
)

type target struct {
	typ   *catalog.Type
	field *catalog.Field
}

// pending is an entry waiting to join its type's candidate.
type pending struct {
	kv keyValue
	tg target
}

// index maps every variable, aliases included, to the field it fills. The
// built-in types come first, so a user type that reuses a built-in
// variable does not take it over.
func index(reg *catalog.Registry) map[string]target {
	idx := make(map[string]target)
	for pass := 0; pass < 2; pass++ {
		for _, t := range reg.All() {
			if t.User != (pass == 1) {
				continue
			}
			for i := range t.Fields {
				f := &t.Fields[i]
				for _, v := range append([]string{f.Env}, f.Aliases...) {
					if _, taken := idx[v]; v != "" && !taken {
						idx[v] = target{t, f}
					}
				}
			}
		}
	}
	return idx
}

func build(kv []keyValue, reg *catalog.Registry, fromFile bool) *Result {
	idx := index(reg)
	res := &Result{}
	skip := func(k, reason string) { res.Skipped = append(res.Skipped, Skipped{k, reason}) }

	byType := make(map[string][]pending)
	for _, e := range kv {
		tg, ok := idx[e.envVar]
		switch {
		case !ok:
			skip(e.key, reasonUnknown)
		case e.null || e.value == "":
			skip(e.key, reasonEmpty)
		case e.value == "None" && !tg.field.Required:
			// Airtrain writes an absent optional field as None.
			skip(e.key, "None (absent)")
		default:
			byType[tg.typ.Name] = append(byType[tg.typ.Name], pending{e, tg})
		}
	}

	for name, entries := range byType {
		typ := entries[0].tg.typ
		if !anchored(typ, entries, fromFile) {
			for _, p := range entries {
				skip(p.kv.key, fmt.Sprintf("generic name; no %s variable beside it", name))
			}
			continue
		}
		c := &Candidate{Name: name, Type: name, Fields: make(map[string]*secret.Secret)}
		for _, p := range entries {
			if _, dup := c.Fields[p.tg.field.Name]; dup {
				skip(p.kv.key, "another key already gave "+name+" "+p.tg.field.Name)
				continue
			}
			c.Fields[p.tg.field.Name] = secret.FromString(p.kv.value)
		}
		c.Check = typ.Check(c.Fields)
		res.Candidates = append(res.Candidates, c)
	}
	sort.Slice(res.Candidates, func(i, j int) bool {
		return res.Candidates[i].Name < res.Candidates[j].Name
	})
	sort.SliceStable(res.Skipped, func(i, j int) bool { return res.Skipped[i].Key < res.Skipped[j].Key })
	return res
}

// anchored reports whether entries identify a credential of typ: one of
// them fills a field with a provider-specific variable, or, in a file, the
// type has no such field at all.
func anchored(typ *catalog.Type, entries []pending, fromFile bool) bool {
	for _, p := range entries {
		if !p.tg.field.GenericEnv {
			return true
		}
	}
	if !fromFile {
		return false
	}
	for _, f := range typ.Fields {
		if !f.GenericEnv {
			return false
		}
	}
	return true
}

// parseDotenv parses a .env file with godotenv. godotenv's errors quote
// the text around the fault, which may be a secret, so they are replaced
// by a description and the line found by parsing ever shorter prefixes.
func parseDotenv(name string, data []byte) ([]keyValue, error) {
	m, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %s", name, dotenvErrorLine(data), dotenvReason(err))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]keyValue, 0, len(keys))
	for _, k := range keys {
		kv = append(kv, keyValue{key: k, envVar: k, value: m[k]})
	}
	return kv, nil
}

func dotenvReason(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unexpected character"):
		return "invalid .env syntax: unexpected character in a variable name"
	case strings.HasPrefix(msg, "unterminated quoted value"):
		return "invalid .env syntax: unterminated quoted value"
	}
	return "invalid .env syntax"
}

// dotenvErrorLine returns the line after the longest prefix of whole lines
// that parses.
func dotenvErrorLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	for k := len(lines) - 1; k > 0; k-- {
		prefix := bytes.Join(lines[:k], nil)
		if _, err := godotenv.UnmarshalBytes(prefix); err == nil {
			return k + 1
		}
	}
	return 1
}

func parseJSON(name string, data []byte) ([]keyValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	err := dec.Decode(&doc)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return nil, fmt.Errorf("%s:%d:%d: invalid JSON syntax", name, line, col)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: invalid JSON: unexpected end of file", name)
		}
		return nil, fmt.Errorf("%s: invalid JSON: trailing data after the object", name)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: invalid credentials file: the top level must be an object",
			name)
	}
	kv := make([]keyValue, 0, len(obj))
	for k, v := range obj {
		e := keyValue{key: k, envVar: strings.ToUpper(k)}
		if err := scalar(&e, v); err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", name, k, err)
		}
		kv = append(kv, e)
	}
	return kv, nil
}

// scalar sets e's value from a decoded JSON or YAML scalar.
func scalar(e *keyValue, v any) error {
	switch v := v.(type) {
	case nil:
		e.null = true
	case string:
		e.value = v
	case json.Number:
		e.value = v.String()
	case bool:
		e.value = strconv.FormatBool(v)
	default:
		return errors.New("value must be a string, number or boolean")
	}
	return nil
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col - 1
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func parseYAML(name string, data []byte) ([]keyValue, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml's messages may quote the document; keep only the line.
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: invalid YAML syntax", name, m[1])
		}
		return nil, fmt.Errorf("%s: invalid YAML syntax", name)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: invalid credentials file: the top level must be a mapping",
			name, root.Line)
	}
	kv := make([]keyValue, 0, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: keys must be plain names", name, k.Line)
		}
		e := keyValue{key: k.Value, envVar: strings.ToUpper(k.Value), line: v.Line}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			e.null = true
		case v.Kind == yaml.ScalarNode:
			e.value = v.Value
		default:
			return nil, fmt.Errorf("%s:%d: key %q: value must be a string, number or boolean",
				name, v.Line, k.Value)
		}
		kv = append(kv, e)
	}
	return kv, nil
}
