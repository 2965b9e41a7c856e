package keyring

import (
	"fmt"
	"time"

	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// recordDoc is a Record as both backends store it: a JSON object whose
// values are plain JSON strings, so that a user who decrypts the file by
// hand can read it.
type recordDoc struct {
	Name      string                     `json:"name"`
	Type      string                     `json:"type"`
	Fields    map[string]*protocol.Value `json:"fields"`
	Created   time.Time                  `json:"created"`
	Updated   time.Time                  `json:"updated"`
	Checked   time.Time                  `json:"checked,omitzero"`
	Unchecked bool                       `json:"unchecked,omitempty"`
	Previous  map[string]*protocol.Value `json:"previous,omitempty"`
}

// docOf returns the document for rec. It shares rec's secrets.
func docOf(rec *Record) *recordDoc {
	return &recordDoc{
		Name:      rec.Name,
		Type:      rec.Type,
		Fields:    wrapFields(rec.Fields),
		Created:   rec.Created,
		Updated:   rec.Updated,
		Checked:   rec.Checked,
		Unchecked: rec.Unchecked,
		Previous:  wrapFields(rec.Previous),
	}
}

// record returns the Record d describes, taking over its secrets.
func (d *recordDoc) record() (*Record, error) {
	if err := protocol.CheckName("credential name", d.Name); err != nil {
		return nil, err
	}
	rec := &Record{
		Name:      d.Name,
		Type:      d.Type,
		Fields:    unwrapFields(d.Fields),
		Created:   d.Created,
		Updated:   d.Updated,
		Checked:   d.Checked,
		Unchecked: d.Unchecked,
		Previous:  unwrapFields(d.Previous),
	}
	if rec.Fields == nil {
		rec.Fields = map[string]*secret.Secret{}
	}
	return rec, nil
}

// wipe zeroes every value d holds.
func (d *recordDoc) wipe() {
	for _, v := range d.Fields {
		if v != nil {
			v.S.Wipe()
		}
	}
	for _, v := range d.Previous {
		if v != nil {
			v.S.Wipe()
		}
	}
}

func wrapFields(m map[string]*secret.Secret) map[string]*protocol.Value {
	if m == nil {
		return nil
	}
	out := make(map[string]*protocol.Value, len(m))
	for k, s := range m {
		out[k] = protocol.NewValue(s)
	}
	return out
}

func unwrapFields(m map[string]*protocol.Value) map[string]*secret.Secret {
	if m == nil {
		return nil
	}
	out := make(map[string]*secret.Secret, len(m))
	for k, v := range m {
		if v == nil || v.S == nil {
			out[k] = secret.New(nil)
			continue
		}
		out[k] = v.S
	}
	return out
}

// checkRecord rejects a record no backend may store.
func checkRecord(rec *Record) error {
	if rec == nil {
		return fmt.Errorf("store credential: no record")
	}
	if err := protocol.CheckName("credential name", rec.Name); err != nil {
		return fmt.Errorf("store credential: %w", err)
	}
	return nil
}

// cloneRecord returns a deep copy of rec.
func cloneRecord(rec *Record) *Record {
	c := *rec
	c.Fields = cloneFields(rec.Fields)
	c.Previous = cloneFields(rec.Previous)
	return &c
}

func cloneFields(m map[string]*secret.Secret) map[string]*secret.Secret {
	if m == nil {
		return nil
	}
	out := make(map[string]*secret.Secret, len(m))
	for k, s := range m {
		out[k] = s.Clone()
	}
	return out
}
