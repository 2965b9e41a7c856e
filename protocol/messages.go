package protocol

import (
	"encoding/json"
	"time"

	"github.com/airtrain-ai/credd/secret"
)

// Request is one request line. Fields an operation does not use are ignored;
// unknown members are ignored too, so that newer clients can talk to older
// daemons.
type Request struct {
	ID RawID  `json:"id,omitempty"`
	Op string `json:"op"`

	Name  string `json:"name,omitempty"`
	Field string `json:"field,omitempty"`
	Type  string `json:"type,omitempty"`
	// Fields carries a credential's values for set and rotate.
	Fields map[string]*Value `json:"fields,omitempty"`
	// NoCheck stores a credential that fails its format check, marked
	// unchecked.
	NoCheck bool `json:"no_check,omitempty"`

	// Agent and Skill are labels the client reports about itself. They are
	// recorded and may narrow a rule, but prove nothing.
	Agent string `json:"agent,omitempty"`
	Skill string `json:"skill,omitempty"`

	// Passphrase unlocks a backend that needs one (the encrypted file).
	Passphrase *Value `json:"passphrase,omitempty"`
	// TTL is the unlock lifetime in seconds; 0 or absent means the
	// daemon's configured lifetime.
	TTL float64 `json:"ttl_s,omitempty"`

	// Names selects credentials for validate; empty means all.
	Names []string `json:"names,omitempty"`
	// Online asks validate to call each provider.
	Online bool `json:"online,omitempty"`

	// Pending request id for approve and deny, and how long an approval
	// is remembered.
	Pending  string  `json:"pending,omitempty"`
	Remember float64 `json:"remember_s,omitempty"`

	// Caller describes a hypothetical caller for policy_test.
	Caller *Caller `json:"caller,omitempty"`
}

// Caller is a hypothetical process identity for policy_test.
type Caller struct {
	Exe       string   `json:"exe,omitempty"`
	ExeSHA256 string   `json:"exe_sha256,omitempty"`
	UID       *int     `json:"uid,omitempty"`
	GID       *int     `json:"gid,omitempty"`
	ParentExe []string `json:"parent_exe,omitempty"`
	Unit      string   `json:"unit,omitempty"`
	Op        string   `json:"op,omitempty"`
}

// Value is a credential value on the wire: a JSON string. It holds its bytes
// in a [secret.Secret], and unlike a bare Secret it marshals the real value:
// it is the one place where secrets are encoded for a client.
type Value struct {
	S *secret.Secret
}

// NewValue wraps s for the wire.
func NewValue(s *secret.Secret) *Value { return &Value{S: s} }

// MarshalJSON encodes the secret's bytes as a JSON string.
func (v *Value) MarshalJSON() ([]byte, error) {
	if v == nil || v.S == nil {
		return []byte(`""`), nil
	}
	return appendString(make([]byte, 0, v.S.Len()+8), v.S.Reveal()), nil
}

// UnmarshalJSON decodes a JSON string into a new Secret.
func (v *Value) UnmarshalJSON(b []byte) error {
	raw, err := unquote(b)
	if err != nil {
		return err
	}
	v.S = secret.New(raw)
	secret.Wipe(raw)
	return nil
}

// String never shows the value.
func (v *Value) String() string { return secret.Redacted }

// Response is one response line: the id of the request it answers, whether
// it succeeded, and either an Error or the operation's result, whose members
// sit beside id and ok in the same object.
type Response struct {
	ID     RawID
	OK     bool
	Error  *Error
	Result any // a pointer to one of the *Result types, or nil
}

// Header is the part every response has, for decoding.
type Header struct {
	ID    RawID  `json:"id"`
	OK    bool   `json:"ok"`
	Error *Error `json:"error,omitempty"`
}

// HelloResult answers hello.
type HelloResult struct {
	Version int    `json:"version"`
	Server  string `json:"server"`
}

// StatusResult answers status.
type StatusResult struct {
	Locked      bool       `json:"locked"`
	Credentials int        `json:"credentials"`
	Backend     string     `json:"backend"`
	UptimeS     int64      `json:"uptime_s"`
	ExpiresAt   *time.Time `json:"expires_at"`
	PID         int        `json:"pid"`
	// RotationDue names credentials older than their maximum age.
	RotationDue []string `json:"rotation_due,omitempty"`
	// MemoryLocked reports whether secret memory is locked in RAM.
	MemoryLocked bool `json:"memory_locked"`
}

// Info describes a stored credential without its values.
type Info struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Fields      []string  `json:"fields"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Checked     time.Time `json:"checked,omitzero"`
	Unchecked   bool      `json:"unchecked,omitempty"`
	RotationDue bool      `json:"rotation_due,omitempty"`
	HasPrevious bool      `json:"has_previous,omitempty"`
}

// ListResult answers list.
type ListResult struct {
	Credentials []Info `json:"credentials"`
}

// Credential is a credential with its values, as get returns it.
type Credential struct {
	Name   string            `json:"name"`
	Type   string            `json:"type"`
	Fields map[string]*Value `json:"fields"`
	// Env maps each field to the environment variable its type gives it.
	// Fields with no variable of their own (a generic credential's
	// value) are named from the credential.
	Env map[string]string `json:"env,omitempty"`
	// Main names the field that holds the credential's main secret.
	Main string `json:"main,omitempty"`
}

// Wipe zeroes every value of c.
func (c *Credential) Wipe() {
	if c == nil {
		return
	}
	for _, v := range c.Fields {
		if v != nil {
			v.S.Wipe()
		}
	}
}

// GetResult answers get: Credential without a field, Value with one.
type GetResult struct {
	Credential *Credential `json:"credential,omitempty"`
	Value      *Value      `json:"value,omitempty"`
}

// EncodedGet answers get with its members already encoded by
// [AppendGetMembers]. They hold the credential's values, hence a Secret.
type EncodedGet struct {
	Members *secret.Secret
}

// SetResult answers set and rotate.
type SetResult struct {
	Created bool `json:"created"`
	// Unchecked reports that the value was stored without passing its
	// format check.
	Unchecked bool `json:"unchecked,omitempty"`
}

// UnlockResult answers unlock.
type UnlockResult struct {
	Credentials int        `json:"credentials"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

// marshalResult is split out so encoders can reuse buffers.
func marshalResult(r any) ([]byte, error) {
	return json.Marshal(r)
}

// FieldInfo describes one field of a credential type.
type FieldInfo struct {
	Name     string `json:"name"`
	Secret   bool   `json:"secret,omitempty"`
	Required bool   `json:"required,omitempty"`
	Default  string `json:"default,omitempty"`
	Env      string `json:"env,omitempty"`
	Rule     string `json:"rule,omitempty"`
	// Pattern is a user type's regular expression for the field.
	Pattern string `json:"pattern,omitempty"`
}

// TypeInfo describes a credential type.
type TypeInfo struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Fields      []FieldInfo `json:"fields"`
	Main        string      `json:"main,omitempty"`
	Online      string      `json:"online,omitempty"`
	AnyFields   bool        `json:"any_fields,omitempty"`
	User        bool        `json:"user,omitempty"`
}

// TypesResult answers types.
type TypesResult struct {
	Types []TypeInfo `json:"types"`
}

// PendingInfo describes a request waiting for the user's confirmation.
type PendingInfo struct {
	ID         string    `json:"id"`
	Op         string    `json:"op"`
	Credential string    `json:"credential,omitempty"`
	PID        int       `json:"pid"`
	Exe        string    `json:"exe"`
	Cmdline    string    `json:"cmdline"`
	Agent      string    `json:"agent,omitempty"`
	Skill      string    `json:"skill,omitempty"`
	Rule       string    `json:"rule"`
	Created    time.Time `json:"created"`
}

// PendingResult answers pending.
type PendingResult struct {
	Pending []PendingInfo `json:"pending"`
}

// ValidateItem is the verdict on one credential in a validate reply. It
// never holds a value. Error is set instead of a verdict when the credential
// could not be checked at all (denied, not found, audit log unavailable).
type ValidateItem struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	// Outcome is "valid", "invalid" or "unknown"; "" when Error is set.
	Outcome string `json:"outcome,omitempty"`
	// Online reports that the verdict is an online check's (the reason
	// says when no provider answered); otherwise it is the offline format
	// check's.
	Online bool `json:"online,omitempty"`
	// Status is the provider's HTTP status, or 0 when no answer came.
	Status int `json:"status,omitempty"`
	// DurationMS is how long the provider took to answer, in
	// milliseconds.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Reason explains an invalid or unknown outcome in words.
	Reason string `json:"reason,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

// ValidateResult answers validate: one item per credential, sorted by name.
type ValidateResult struct {
	Results []ValidateItem `json:"results"`
}
