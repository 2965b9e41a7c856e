package catalog_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/catalog"
)

// standIn is a local HTTPS server that answers as a provider does: 200 when
// the request carries the accepted key where the provider expects it,
// otherwise the provider's refusal. mode switches it to a rate limit or to
// never answering.
type standIn struct {
	srv  *httptest.Server
	mode atomic.Value // "", "429" or "hang"
}

func newStandIn(t *testing.T, path string, authorized func(*http.Request) bool,
	refuse func(http.ResponseWriter)) *standIn {
	t.Helper()
	s := &standIn{}
	s.mode.Store("")
	stop := make(chan struct{})
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch s.mode.Load().(string) {
		case "429":
			http.Error(w, `{"error":"rate limited"}`, http.StatusTooManyRequests)
			return
		case "hang":
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			// A handler that returns has answered 200; abort instead,
			// so that a hanging provider never answers at all.
			panic(http.ErrAbortHandler)
		}
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		if !authorized(r) {
			refuse(w)
			return
		}
		_, _ = w.Write([]byte(`{"data":[]}`))
	}))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: releases hanging handlers
	return s
}

func unauthorized(w http.ResponseWriter) {
	http.Error(w, `{"error":"invalid api key"}`, http.StatusUnauthorized)
}

func TestValidateProviders(t *testing.T) {
	providers := []struct {
		typ        string
		path       string
		good, bad  map[string]string
		authorized func(r *http.Request, key string) bool
		refuse     func(http.ResponseWriter)
	}{
		{
			typ: "openai", path: "/v1/models",
			good: map[string]string{"api_key": openaiKey},
			bad:  map[string]string{"api_key": "sk-" + strings.Repeat("z", 40)},
			authorized: func(r *http.Request, key string) bool {
				return r.Header.Get("Authorization") == "Bearer "+key
			},
			refuse: unauthorized,
		},
		{
			typ: "anthropic", path: "/v1/models",
			good: map[string]string{"api_key": anthropicKey},
			bad:  map[string]string{"api_key": "sk-ant-other"},
			authorized: func(r *http.Request, key string) bool {
				return r.Header.Get("X-Api-Key") == key &&
					r.Header.Get("Anthropic-Version") == "2023-06-01"
			},
			refuse: unauthorized,
		},
		{
			typ: "gemini", path: "/v1beta/models",
			good: map[string]string{"api_key": geminiKey},
			bad:  map[string]string{"api_key": "AIza" + strings.Repeat("0", 35)},
			authorized: func(r *http.Request, key string) bool {
				return r.Header.Get("X-Goog-Api-Key") == key
			},
			// Google refuses an unknown key with 400, not 401.
			refuse: func(w http.ResponseWriter) {
				http.Error(w, `{"error":{"code":400,"status":"INVALID_ARGUMENT",`+
					`"details":[{"reason":"API_KEY_INVALID"}]}}`, http.StatusBadRequest)
			},
		},
		{
			typ: "huggingface", path: "/api/whoami-v2",
			good: map[string]string{"api_key": "hf_good"},
			bad:  map[string]string{"api_key": "hf_bad"},
			authorized: func(r *http.Request, key string) bool {
				return r.Header.Get("Authorization") == "Bearer "+key
			},
			refuse: unauthorized,
		},
		{
			typ: "aws", path: "/",
			good: map[string]string{"access_key_id": awsKeyID, "secret_access_key": awsSecret},
			bad: map[string]string{"access_key_id": "AKIA" + strings.Repeat("Z", 16),
				"secret_access_key": awsSecret},
			authorized: func(r *http.Request, keyID string) bool {
				auth := r.Header.Get("Authorization")
				return r.Method == http.MethodPost &&
					strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+keyID+"/") &&
					strings.Contains(auth, "/us-east-1/sts/aws4_request") &&
					r.Header.Get("X-Amz-Date") != ""
			},
			refuse: func(w http.ResponseWriter) {
				http.Error(w, "<ErrorResponse><Error><Code>InvalidClientTokenId</Code>"+
					"</Error></ErrorResponse>", http.StatusForbidden)
			},
		},
	}
	for _, p := range providers {
		t.Run(p.typ, func(t *testing.T) {
			typ := lookup(t, p.typ)
			mainKey := p.good[typ.Main]
			if p.typ == "aws" {
				mainKey = p.good["access_key_id"]
			}
			var leaked atomic.Bool
			si := newStandIn(t, p.path, func(r *http.Request) bool {
				if strings.Contains(r.URL.String(), mainKey) {
					leaked.Store(true)
				}
				return p.authorized(r, mainKey)
			}, p.refuse)
			client := si.srv.Client()
			client.Timeout = 500 * time.Millisecond

			cases := []struct {
				name   string
				mode   string
				fields map[string]string
				want   catalog.Outcome
				status int
			}{
				{"accepted", "", p.good, catalog.Valid, 200},
				{"refused", "", p.bad, catalog.Invalid, 0},
				{"rate limited", "429", p.good, catalog.Unknown, 429},
				{"timeout", "hang", p.good, catalog.Unknown, 0},
			}
			for _, c := range cases {
				si.mode.Store(c.mode)
				res := catalog.Validate(context.Background(), client, typ, secrets(t, c.fields),
					si.srv.URL)
				if res.Outcome != c.want {
					t.Errorf("%s: Validate = %s (%d, %s), want %s", c.name, res.Outcome,
						res.Status, res.Reason, c.want)
				}
				if c.status != 0 && res.Status != c.status {
					t.Errorf("%s: status = %d, want %d", c.name, res.Status, c.status)
				}
				for _, v := range c.fields {
					if strings.Contains(res.Reason, v) {
						t.Errorf("%s: reason shows a value", c.name)
					}
				}
			}
			if leaked.Load() {
				t.Error("the key was sent in the URL")
			}
		})
	}
}

func TestValidateNoCheck(t *testing.T) {
	for _, name := range []string{"perplexity", "exa", "lancedb", "generic", "google-cloud"} {
		typ := lookup(t, name)
		res := catalog.Validate(context.Background(), http.DefaultClient, typ, nil,
			"https://127.0.0.1:1")
		if res.Outcome != catalog.Unknown || res.Reason == "" {
			t.Errorf("Validate(%s) = %+v, want unknown with a reason", name, res)
		}
	}
}

func TestValidateRefusesPlainHTTP(t *testing.T) {
	typ := lookup(t, "openai")
	res := catalog.Validate(context.Background(), http.DefaultClient, typ,
		secrets(t, map[string]string{"api_key": openaiKey}), "http://example.com")
	if res.Outcome != catalog.Unknown || !strings.Contains(res.Reason, "https") {
		t.Errorf("Validate over plain http = %+v, want unknown naming https", res)
	}
}

func TestValidateBadFormatNotSent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	res := catalog.Validate(context.Background(), srv.Client(), lookup(t, "openai"),
		secrets(t, map[string]string{"api_key": "not-a-key"}), srv.URL)
	if res.Outcome != catalog.Invalid || hits.Load() != 0 {
		t.Errorf("Validate(bad format) = %+v after %d requests, want invalid and none",
			res, hits.Load())
	}
}

func TestValidateDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	res := catalog.Validate(context.Background(), srv.Client(), lookup(t, "anthropic"),
		secrets(t, map[string]string{"api_key": anthropicKey}), srv.URL)
	if res.Outcome != catalog.Unknown || res.Status != http.StatusFound || followed.Load() {
		t.Errorf("Validate(redirect) = %+v (followed %v), want unknown, 302, not followed",
			res, followed.Load())
	}
}
