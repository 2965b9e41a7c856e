package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/airtrain-ai/credd/secret"
)

// Outcome is the verdict of an online check.
type Outcome string

// Outcomes of an online check.
const (
	// Valid means the provider accepted the credential.
	Valid Outcome = "valid"
	// Invalid means the provider refused it (401 or 403, or the
	// provider's own "bad key" answer).
	Invalid Outcome = "invalid"
	// Unknown means no verdict: a network error, a timeout, a rate limit,
	// a server error, an unexpected answer, or no online check at all.
	Unknown Outcome = "unknown"
)

// Result is what an online check found. Reason explains an Unknown or
// Invalid outcome in words; it never contains the credential.
type Result struct {
	Outcome  Outcome
	Status   int // HTTP status, or 0 when no answer came
	Duration time.Duration
	Reason   string
}

// maxBody bounds how much of an answer is read.
const maxBody = 64 << 10

// onlineCheck is how one type is checked online.
type onlineCheck struct {
	describe string
	base     string // the provider's base URL
	// build returns the request; base has no trailing slash.
	build func(ctx context.Context, base string, fields map[string]*secret.Secret) (*http.Request, error)
	// invalid reports whether an answer other than 401 and 403 means the
	// provider refused the credential; nil means none does.
	invalid func(status int, body []byte) bool
	// none, when set, is why the type has no online check.
	none string
}

// DefaultBaseURL returns the provider's base URL the online check calls, or
// "" when the type has no online check (or, for Azure, takes it from the
// credential's endpoint).
func (t *Type) DefaultBaseURL() string {
	if t.online == nil {
		return ""
	}
	return t.online.base
}

// Validate checks the credential online against its provider, calling only
// free endpoints that need authentication (a model list or an identity
// call), never one that is billed. baseURL replaces the provider's base URL
// when not empty (tests point it at a stand-in server); it must be https,
// or http on a loopback host. The key travels in a header, never in the
// URL, and redirects are not followed, so that it reaches no other host.
// client's timeout and ctx bound the call. Validate never logs, and its
// Result never holds a value.
func Validate(ctx context.Context, client *http.Client, typ *Type,
	fields map[string]*secret.Secret, baseURL string) Result {
	on := typ.online
	switch {
	case on == nil:
		return Result{Outcome: Unknown, Reason: "no online check for type " + typ.Name}
	case on.none != "":
		return Result{Outcome: Unknown, Reason: "no online check: " + on.none}
	}
	if err := typ.Check(fields); err != nil {
		// A key that fails its format check is not sent anywhere.
		return Result{Outcome: Invalid, Reason: err.Error()}
	}

	base := on.base
	if baseURL != "" {
		base = baseURL
	}
	base = strings.TrimRight(base, "/")
	if base != "" && !httpsURL([]byte(base)) {
		return Result{Outcome: Unknown,
			Reason: "base URL must be https (http only on a loopback host)"}
	}
	req, err := on.build(ctx, base, fields)
	if err != nil {
		return Result{Outcome: Unknown, Reason: "build request: " + err.Error()}
	}
	req.Header.Set("User-Agent", "credd")

	c := http.Client{CheckRedirect: noRedirect}
	if client != nil {
		c = *client
		c.CheckRedirect = noRedirect
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return Result{Outcome: Unknown, Duration: time.Since(start), Reason: netReason(err)}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	res := Result{Status: resp.StatusCode, Duration: time.Since(start)}
	res.Outcome, res.Reason = classify(on, resp.StatusCode, body)
	return res
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func classify(on *onlineCheck, status int, body []byte) (Outcome, string) {
	switch {
	case status >= 200 && status < 300:
		return Valid, ""
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Invalid, fmt.Sprintf("provider refused the credential (HTTP %d)", status)
	case on.invalid != nil && on.invalid(status, body):
		return Invalid, fmt.Sprintf("provider refused the credential (HTTP %d)", status)
	case status == http.StatusTooManyRequests:
		return Unknown, "rate limited by the provider (HTTP 429)"
	case status >= 500:
		return Unknown, fmt.Sprintf("provider error (HTTP %d)", status)
	case status >= 300 && status < 400:
		return Unknown, fmt.Sprintf("provider redirected (HTTP %d); not followed", status)
	}
	return Unknown, fmt.Sprintf("unexpected answer from the provider (HTTP %d)", status)
}

// netReason describes a transport failure. The URL in it holds no secret,
// since keys travel in headers; the error's text is kept short anyway.
func netReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	if ue != nil {
		err = ue.Err
	}
	return "request failed: " + err.Error()
}

// get returns a GET request for base+path with header name set to prefix
// followed by the field's value.
func get(ctx context.Context, base, path string, fields map[string]*secret.Secret,
	field, name, prefix string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, err
	}
	setSecretHeader(req.Header, name, prefix, fields[field])
	return req, nil
}

// setSecretHeader sets a header from a secret. The header value is an
// ordinary string: Go's HTTP client needs one.
func setSecretHeader(h http.Header, name, prefix string, s *secret.Secret) {
	h.Set(name, prefix+string(s.Reveal()))
}

func bearer(base, path string) *onlineCheck {
	return &onlineCheck{
		describe: "GET " + base + path + " with the key as a bearer token",
		base:     base,
		build: func(ctx context.Context, b string, f map[string]*secret.Secret) (*http.Request, error) {
			return get(ctx, b, path, f, "api_key", "Authorization", "Bearer ")
		},
	}
}

func unsupported(reason string) *onlineCheck { return &onlineCheck{none: reason} }

// openaiCheck is a bearer check that also names the organization when the
// credential holds one.
func openaiCheck() *onlineCheck {
	on := bearer("https://api.openai.com", "/v1/models")
	build := on.build
	on.build = func(ctx context.Context, b string, f map[string]*secret.Secret) (*http.Request, error) {
		req, err := build(ctx, b, f)
		if err == nil && f["organization_id"].Len() > 0 {
			req.Header.Set("OpenAI-Organization", string(f["organization_id"].Reveal()))
		}
		return req, err
	}
	return on
}

func anthropicCheck() *onlineCheck {
	const base = "https://api.anthropic.com"
	return &onlineCheck{
		describe: "GET " + base + "/v1/models with x-api-key and anthropic-version",
		base:     base,
		build: func(ctx context.Context, b string, f map[string]*secret.Secret) (*http.Request, error) {
			req, err := get(ctx, b, "/v1/models", f, "api_key", "X-Api-Key", "")
			if err != nil {
				return nil, err
			}
			version := "2023-06-01"
			if v := f["version"]; v.Len() > 0 {
				version = string(v.Reveal())
			}
			req.Header.Set("Anthropic-Version", version)
			return req, nil
		},
	}
}

func geminiCheck() *onlineCheck {
	const base = "https://generativelanguage.googleapis.com"
	return &onlineCheck{
		describe: "GET " + base + "/v1beta/models with the key in x-goog-api-key",
		base:     base,
		build: func(ctx context.Context, b string, f map[string]*secret.Secret) (*http.Request, error) {
			return get(ctx, b, "/v1beta/models?pageSize=1", f, "api_key", "X-Goog-Api-Key", "")
		},
		// Google answers a malformed or unknown key with 400 and the
		// reason API_KEY_INVALID.
		invalid: func(status int, body []byte) bool {
			return status == http.StatusBadRequest && bytes.Contains(body, []byte("API_KEY_INVALID"))
		},
	}
}

func azureCheck() *onlineCheck {
	return &onlineCheck{
		describe: "GET <endpoint>/openai/models?api-version=<api_version> with the api-key header",
		build: func(ctx context.Context, b string, f map[string]*secret.Secret) (*http.Request, error) {
			if b == "" {
				b = strings.TrimRight(string(f["endpoint"].Reveal()), "/")
			}
			version := "2024-10-21"
			if v := f["api_version"]; v.Len() > 0 {
				version = string(v.Reveal())
			}
			return get(ctx, b, "/openai/models?api-version="+url.QueryEscape(version), f,
				"api_key", "Api-Key", "")
		},
	}
}

func ollamaCheck() *onlineCheck {
	return &onlineCheck{
		describe: "GET <host>/api/tags (the server answers; Ollama has no keys)",
		build: func(ctx context.Context, b string, f map[string]*secret.Secret) (*http.Request, error) {
			if b == "" {
				b = "http://localhost:11434"
				if h := f["host"]; h.Len() > 0 {
					b = strings.TrimRight(string(h.Reveal()), "/")
				}
			}
			return http.NewRequestWithContext(ctx, http.MethodGet, b+"/api/tags", nil)
		},
	}
}
