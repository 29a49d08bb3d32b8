package tlog_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox/tlog"
	"golang.org/x/mod/sumdb/note"
)

// Keys for tests only, published here on purpose.
const (
	testSKey  = "PRIVATE+KEY+lockbox.example.com+ed57245a+AWi/9sPA8U2NuZ6Pc0vjuRaXm2CF7I2qf6G/I7cozKGb"
	testVKey  = "lockbox.example.com+ed57245a+ATlW3m62JOJ8z+EoOTkMorU/zuuTKsC+1Yy8KyKN/6Q9"
	otherSKey = "PRIVATE+KEY+other.example.com+92c55771+AY8ab8mTZmvAMI83kDq4DSeR6nSq0UyTE9DBqPNgcJH0"
	otherVKey = "other.example.com+92c55771+AeXo0ZDrLCFatzxTamnWzBfwyd/RhbaCnLa+Vt6405EO"
)

const testOrigin = "lockbox.example.com/tenants/ten_1"

func mustSigner(t testing.TB, skey string) note.Signer {
	t.Helper()
	s, err := tlog.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustVerifier(t testing.TB, vkey string) note.Verifier {
	t.Helper()
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func root(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func TestCheckpointRoundTrip(t *testing.T) {
	signer, verifier := mustSigner(t, testSKey), mustVerifier(t, testVKey)
	for _, head := range []tlog.Head{
		{Size: 0},
		{Size: 1, Root: root("a")},
		{Size: 1<<63 + 5, Root: root("b")},
	} {
		msg, err := tlog.SignCheckpoint(signer, testOrigin, head)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := tlog.OpenCheckpoint(msg, verifier, testOrigin)
		if err != nil {
			t.Fatalf("OpenCheckpoint(%q): %v", msg, err)
		}
		want := head.Root
		if want == nil {
			want = tlog.EmptyRoot()
		}
		if cp.Origin != testOrigin || cp.Size != head.Size || !bytes.Equal(cp.Root, want) || !bytes.Equal(cp.Note, msg) {
			t.Fatalf("round trip of %+v gave %+v", head, cp)
		}
		// Deterministic: the same head gives the same bytes.
		again, _ := tlog.SignCheckpoint(signer, testOrigin, head)
		if !bytes.Equal(again, msg) {
			t.Fatal("signing the same head twice gave different checkpoints")
		}
	}
}

// TestCheckpointFormat pins the exact bytes: other tools parse them.
func TestCheckpointFormat(t *testing.T) {
	msg, err := tlog.SignCheckpoint(mustSigner(t, testSKey), testOrigin, tlog.Head{Size: 42, Root: root("x")})
	if err != nil {
		t.Fatal(err)
	}
	body, sigs, ok := strings.Cut(string(msg), "\n\n")
	if !ok {
		t.Fatalf("no blank line in %q", msg)
	}
	if want := "lockbox.example.com/tenants/ten_1\n42\nLXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=\n"; body+"\n" != want {
		t.Fatalf("body = %q, want %q", body+"\n", want)
	}
	if !strings.HasPrefix(sigs, "— lockbox.example.com ") || strings.Count(sigs, "\n") != 1 {
		t.Fatalf("signature lines = %q", sigs)
	}
}

// signBody signs an arbitrary body with the trusted key: what a server with
// the key but a broken formatter would serve.
func signBody(t *testing.T, body string) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: body}, mustSigner(t, testSKey))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestOpenCheckpointRefuses(t *testing.T) {
	signer, verifier := mustSigner(t, testSKey), mustVerifier(t, testVKey)
	good, err := tlog.SignCheckpoint(signer, testOrigin, tlog.Head{Size: 42, Root: root("x")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlog.SignCheckpoint(mustSigner(t, otherSKey), testOrigin, tlog.Head{Size: 42, Root: root("x")})
	if err != nil {
		t.Fatal(err)
	}
	rootB64 := "LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE="
	for _, tc := range []struct {
		name string
		msg  []byte
		want string
	}{
		{"size changed", bytes.Replace(good, []byte("\n42\n"), []byte("\n43\n"), 1), "signature"},
		{"root changed", bytes.Replace(good, []byte("LXEW"), []byte("LXEX"), 1), "signature"},
		{"origin changed", bytes.Replace(good, []byte("ten_1"), []byte("ten_2"), 1), "signature"},
		{"signature flipped", append(bytes.Clone(good[:len(good)-6]), []byte("AAAA=\n")...), ""},
		{"other key", other, "not signed by the trusted key lockbox.example.com+ed57245a"},
		{"unsigned", []byte(testOrigin + "\n42\n" + rootB64 + "\n"), ""},
		{"empty", nil, ""},
		{"wrong origin", signBody(t, "lockbox.example.com/tenants/ten_2\n42\n"+rootB64+"\n"), `for the log "lockbox.example.com/tenants/ten_2"`},
		{"extension line", signBody(t, testOrigin+"\n42\n"+rootB64+"\nextra\n"), "want exactly 3"},
		{"two lines", signBody(t, testOrigin+"\n42\n"), "want exactly 3"},
		{"leading zero", signBody(t, testOrigin+"\n042\n"+rootB64+"\n"), "canonical decimal"},
		{"sign", signBody(t, testOrigin+"\n+42\n"+rootB64+"\n"), "canonical decimal"},
		{"overflow", signBody(t, testOrigin+"\n18446744073709551616\n"+rootB64+"\n"), "canonical decimal"},
		{"short root", signBody(t, testOrigin+"\n42\nAAAA\n"), "base64"},
		{"unpadded root", signBody(t, testOrigin+"\n42\n"+strings.TrimSuffix(rootB64, "=")+"\n"), "base64"},
		{"url base64 root", signBody(t, testOrigin+"\n42\n"+strings.ReplaceAll(rootB64, "+", "-")+"\n"), "base64"},
		{"space in origin", signBody(t, "lockbox.example.com/tenants/ten 1\n42\n"+rootB64+"\n"), "invalid origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tlog.OpenCheckpoint(tc.msg, verifier, testOrigin)
			if !errors.Is(err, tlog.ErrBadCheckpoint) {
				t.Fatalf("err = %v, want ErrBadCheckpoint", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to say %q", err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
	// A witness's cosignature does not hurt.
	n, err := note.Open(good, note.VerifierList(verifier))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, signer, mustSigner(t, otherSKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.OpenCheckpoint(cosigned, verifier, testOrigin); err != nil {
		t.Fatalf("cosigned checkpoint: %v", err)
	}
}

func TestKeys(t *testing.T) {
	// Enough keys that some hold '+' in their base64.
	for range 50 {
		skey, vkey, err := tlog.GenerateKey("lockbox.example.com")
		if err != nil {
			t.Fatal(err)
		}
		if derived, err := tlog.VerifierKey(skey); err != nil || derived != vkey {
			t.Fatalf("VerifierKey(%q) = %q, %v; want %q", skey, derived, err, vkey)
		}
	}
	skey, vkey, err := tlog.GenerateKey("lockbox.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(skey, "PRIVATE+KEY+lockbox.example.com+") || !strings.HasPrefix(vkey, "lockbox.example.com+") {
		t.Fatalf("keys %q, %q", skey, vkey)
	}
	derived, err := tlog.VerifierKey(skey)
	if err != nil || derived != vkey {
		t.Fatalf("VerifierKey = %q, %v; want %q", derived, err, vkey)
	}
	if derived, err := tlog.VerifierKey(testSKey); err != nil || derived != testVKey {
		t.Fatalf("VerifierKey(test key) = %q, %v; want %q", derived, err, testVKey)
	}
	if got := tlog.KeyID(mustVerifier(t, vkey)); !strings.HasPrefix(vkey, got+"+") {
		t.Fatalf("KeyID = %q, not a prefix of %q", got, vkey)
	}
	for _, bad := range []string{"", "has space", "a+b", "new\nline"} {
		if _, _, err := tlog.GenerateKey(bad); err == nil {
			t.Errorf("GenerateKey(%q): no error", bad)
		}
	}
	for _, bad := range []string{"", testVKey, strings.Replace(testSKey, "ed57245a", "ed57245b", 1), testSKey + "A"} {
		if _, err := tlog.VerifierKey(bad); err == nil {
			t.Errorf("VerifierKey(%q): no error", bad)
		}
		if _, err := tlog.NewSigner(bad); err == nil {
			t.Errorf("NewSigner(%q): no error", bad)
		}
	}
	if _, err := tlog.NewVerifier(testSKey); err == nil {
		t.Error("NewVerifier(a signing key): no error")
	}
}

func TestOrigins(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://lockbox.example.com", "lockbox.example.com"},
		{"https://lockbox.example.com/", "lockbox.example.com"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"https://example.com/lockbox/", "example.com/lockbox"},
	} {
		if got, err := tlog.LogOrigin(tc.url); err != nil || got != tc.want {
			t.Errorf("LogOrigin(%q) = %q, %v; want %q", tc.url, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "lockbox.example.com", "https://"} {
		if got, err := tlog.LogOrigin(bad); err == nil {
			t.Errorf("LogOrigin(%q) = %q, want an error", bad, got)
		}
	}
	o := tlog.CheckpointOrigin("example.com/tenants/x", "ten_1")
	if o != "example.com/tenants/x/tenants/ten_1" {
		t.Fatalf("CheckpointOrigin = %q", o)
	}
	log, tenant, ok := tlog.SplitCheckpointOrigin(o)
	if !ok || log != "example.com/tenants/x" || tenant != "ten_1" {
		t.Fatalf("SplitCheckpointOrigin(%q) = %q, %q, %v", o, log, tenant, ok)
	}
	for _, bad := range []string{"example.com", "example.com/tenants/"} {
		if _, _, ok := tlog.SplitCheckpointOrigin(bad); ok {
			t.Errorf("SplitCheckpointOrigin(%q) ok", bad)
		}
	}
}
