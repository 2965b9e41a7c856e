package catalog

import (
	"net/http"
	"testing"
	"time"
)

// TestSignV4Vanilla checks the signer against the "get-vanilla" case of
// AWS's published Signature Version 4 test suite.
func TestSignV4Vanilla(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "https://example.amazonaws.com/", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	signV4(req, nil, []byte("AKIDEXAMPLE"), []byte("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
		"us-east-1", "service", now)
	want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
		"SignedHeaders=host;x-amz-date, " +
		"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization = %q\nwant %q", got, want)
	}
}
