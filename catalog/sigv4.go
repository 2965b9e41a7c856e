package catalog

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/airtrain-ai/credd/secret"
)

// stsBody is the one call the AWS check makes: who am I. It is free and
// needs no permission.
const stsBody = "Action=GetCallerIdentity&Version=2011-06-15"

func awsCheck() *onlineCheck {
	return &onlineCheck{
		describe: "POST https://sts.<region>.amazonaws.com/ GetCallerIdentity, signed with " +
			"Signature Version 4",
		base: "https://sts.amazonaws.com",
		build: func(ctx context.Context, b string, f map[string]*secret.Secret) (*http.Request, error) {
			region := "us-east-1"
			if r := f["region"]; r.Len() > 0 {
				region = string(r.Reveal())
				if b == "https://sts.amazonaws.com" {
					b = "https://sts." + region + ".amazonaws.com"
				}
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, b+"/",
				strings.NewReader(stsBody))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			if tok := f["session_token"]; tok.Len() > 0 {
				setSecretHeader(req.Header, "X-Amz-Security-Token", "", tok)
			}
			signV4(req, []byte(stsBody), f["access_key_id"].Reveal(),
				f["secret_access_key"].Reveal(), region, "sts", time.Now())
			return req, nil
		},
		// STS answers an expired session token with 400 ExpiredToken.
		invalid: func(status int, body []byte) bool {
			return status == http.StatusBadRequest && bytes.Contains(body, []byte("ExpiredToken"))
		},
	}
}

// signV4 signs req with AWS Signature Version 4: it sets X-Amz-Date and
// Authorization, signing every header already set plus Host. The request
// must have no query string.
func signV4(req *http.Request, body, keyID, secretKey []byte, region, service string,
	now time.Time) {
	amzDate := now.UTC().Format("20060102T150405Z")
	date := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)

	headers := map[string]string{"host": req.URL.Host}
	for name, vals := range req.Header {
		headers[strings.ToLower(name)] = strings.TrimSpace(strings.Join(vals, ","))
	}
	names := make([]string, 0, len(headers))
	for n := range headers {
		names = append(names, n)
	}
	sort.Strings(names)
	var canon strings.Builder
	for _, n := range names {
		canon.WriteString(n + ":" + headers[n] + "\n")
	}
	signed := strings.Join(names, ";")
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	payload := sha256.Sum256(body)
	creq := strings.Join([]string{req.Method, path, req.URL.RawQuery, canon.String(), signed,
		hex.EncodeToString(payload[:])}, "\n")
	creqHash := sha256.Sum256([]byte(creq))

	scope := date + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" +
		hex.EncodeToString(creqHash[:])

	k := append([]byte("AWS4"), secretKey...)
	key := hmacSHA256(k, []byte(date))
	secret.Wipe(k)
	for _, part := range []string{region, service, "aws4_request"} {
		next := hmacSHA256(key, []byte(part))
		secret.Wipe(key)
		key = next
	}
	sig := hmacSHA256(key, []byte(toSign))
	secret.Wipe(key)

	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+string(keyID)+"/"+scope+
		", SignedHeaders="+signed+", Signature="+hex.EncodeToString(sig))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}
