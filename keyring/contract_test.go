package keyring

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/secret"
)

// testCtx bounds every backend call in the tests generously.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sample returns a record with one value per field, stamped with times
// that carry nanoseconds and a zone other than UTC.
func sample(name string, fields map[string]string) *Record {
	zone := time.FixedZone("test", 2*3600)
	created := time.Date(2025, 3, 4, 5, 6, 7, 123456789, zone)
	rec := &Record{
		Name:    name,
		Type:    "openai",
		Fields:  map[string]*secret.Secret{},
		Created: created,
		Updated: created.Add(time.Hour),
		Checked: created.Add(2 * time.Hour),
	}
	for k, v := range fields {
		rec.Fields[k] = secret.FromString(v)
	}
	return rec
}

// checkSame fails the test when got and want differ. Its messages name
// fields, never values.
func checkSame(t *testing.T, got, want *Record) {
	t.Helper()
	if got.Name != want.Name || got.Type != want.Type || got.Unchecked != want.Unchecked {
		t.Errorf("record %s: name, type, unchecked = %q, %q, %v; want %q, %q, %v",
			want.Name, got.Name, got.Type, got.Unchecked, want.Name, want.Type, want.Unchecked)
	}
	for _, tm := range []struct {
		what      string
		got, want time.Time
	}{
		{"created", got.Created, want.Created},
		{"updated", got.Updated, want.Updated},
		{"checked", got.Checked, want.Checked},
	} {
		if !tm.got.Equal(tm.want) {
			t.Errorf("record %s: %s = %v, want %v", want.Name, tm.what, tm.got, tm.want)
		}
	}
	checkFields(t, want.Name+" fields", got.Fields, want.Fields)
	checkFields(t, want.Name+" previous", got.Previous, want.Previous)
}

func checkFields(t *testing.T, what string, got, want map[string]*secret.Secret) {
	t.Helper()
	gk, wk := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))
	if !slices.Equal(gk, wk) {
		t.Errorf("%s: names %v, want %v", what, gk, wk)
		return
	}
	for _, k := range wk {
		if !got[k].Equal(want[k]) {
			t.Errorf("%s: value of %s differs (got %d bytes, want %d)",
				what, k, got[k].Len(), want[k].Len())
		}
	}
}

// unlockAll locks b, unlocks it again and returns its records by name.
func unlockAll(t *testing.T, b Backend, pass *secret.Secret) map[string]*Record {
	t.Helper()
	b.Lock()
	recs, err := b.Unlock(testCtx(t), pass)
	if err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	out := make(map[string]*Record, len(recs))
	for _, r := range recs {
		if out[r.Name] != nil {
			t.Fatalf("Unlock returned %s twice", r.Name)
		}
		out[r.Name] = r
	}
	return out
}

// testBackend is the contract every backend keeps, run against a backend
// over an empty store. tooLargeOK lets a backend refuse the largest values
// with ErrTooLarge, as the macOS Keychain must.
func testBackend(t *testing.T, b Backend, pass *secret.Secret, tooLargeOK bool) {
	ctx := testCtx(t)

	early := sample("early", map[string]string{"k": "v"})
	if err := b.Put(ctx, early); !errors.Is(err, ErrNotUnlocked) {
		t.Fatalf("Put before Unlock = %v, want ErrNotUnlocked", err)
	}
	if err := b.Delete(ctx, "early"); !errors.Is(err, ErrNotUnlocked) {
		t.Fatalf("Delete before Unlock = %v, want ErrNotUnlocked", err)
	}
	if got := unlockAll(t, b, pass); len(got) != 0 {
		t.Fatalf("Unlock of an empty store returned %d records", len(got))
	}

	first := sample("openai", map[string]string{"api_key": "sk-test-0123456789"})
	first.Unchecked = true
	if err := b.Put(ctx, first); err != nil {
		t.Fatalf("Put(openai): %v", err)
	}
	got := unlockAll(t, b, pass)
	if len(got) != 1 || got["openai"] == nil {
		t.Fatalf("after one Put, Unlock returned %v", slices.Sorted(maps.Keys(got)))
	}
	checkSame(t, got["openai"], first)

	second := sample("openai", map[string]string{"api_key": "sk-test-second", "org": "org-1"})
	second.Updated = second.Updated.Add(time.Minute)
	second.Checked = time.Time{}
	second.Previous = map[string]*secret.Secret{"api_key": secret.FromString("sk-test-0123456789")}
	if err := b.Put(ctx, second); err != nil {
		t.Fatalf("Put(openai) again: %v", err)
	}
	got = unlockAll(t, b, pass)
	if len(got) != 1 {
		t.Fatalf("after a replace, Unlock returned %v", slices.Sorted(maps.Keys(got)))
	}
	checkSame(t, got["openai"], second)

	values := map[string]string{
		"newlines": "line one\nline two\r\nline three\n",
		"quotes":   `she said "hi" and 'bye' \ back\slash`,
		"unicode":  "ключ 鍵 🔑 e\u0301 \u2028",
		"empty":    "",
		"json":     `{"not":"a field"}`,
	}
	many := []*Record{
		sample("with.dots", values),
		sample("with_underscores", map[string]string{"v": "x"}),
		sample("with-dashes", map[string]string{"v": "y"}),
		sample("A9.b_c-d", map[string]string{"v": "z"}),
	}
	for _, size := range []int{1000, 2900, 3000, 4000, 4096} {
		value := strings.Repeat("x", size)
		many = append(many, sample(fmt.Sprintf("size-%d", size), map[string]string{"v": value}))
	}
	want := map[string]*Record{"openai": second}
	for _, rec := range many {
		err := b.Put(ctx, rec)
		if tooLargeOK && errors.Is(err, ErrTooLarge) {
			continue
		}
		if err != nil {
			t.Fatalf("Put(%s): %v", rec.Name, err)
		}
		want[rec.Name] = rec
	}
	got = unlockAll(t, b, pass)
	if gk, wk := sortedKeys(got), sortedKeys(want); !slices.Equal(gk, wk) {
		t.Fatalf("Unlock returned %v, want %v", gk, wk)
	}
	for name, rec := range want {
		checkSame(t, got[name], rec)
	}

	if err := b.Delete(ctx, "with.dots"); err != nil {
		t.Fatalf("Delete(with.dots): %v", err)
	}
	if err := b.Delete(ctx, "never-stored"); err != nil {
		t.Fatalf("Delete of a missing credential = %v, want nil", err)
	}
	delete(want, "with.dots")
	got = unlockAll(t, b, pass)
	if gk, wk := sortedKeys(got), sortedKeys(want); !slices.Equal(gk, wk) {
		t.Fatalf("after Delete, Unlock returned %v, want %v", gk, wk)
	}

	if err := b.Put(ctx, &Record{Name: ".index"}); err == nil {
		t.Errorf("Put of the invalid name .index succeeded")
	}
	b.Lock()
	if err := b.Put(ctx, first); !errors.Is(err, ErrNotUnlocked) {
		t.Fatalf("Put after Lock = %v, want ErrNotUnlocked", err)
	}
}

func sortedKeys(m map[string]*Record) []string {
	return slices.Sorted(maps.Keys(m))
}
