package lockbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

// gcmBox is a SecretBox as app builds it: AES-GCM, the context as
// additional data.
type gcmBox struct{ aead cipher.AEAD }

func newGCMBox(t *testing.T) gcmBox {
	k := make([]byte, 32)
	rand.Read(k)
	block, _ := aes.NewCipher(k)
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcmBox{aead}
}

func (b gcmBox) Seal(plaintext, context string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return SealedPrefix + base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))), nil
}

func (b gcmBox) Open(sealed, context string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, SealedPrefix))
	if err != nil {
		return "", err
	}
	n := b.aead.NonceSize()
	p, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(context))
	return string(p), err
}

// TestWebhookSecretsSealed: secrets are sealed once, opened back for their
// own tenant and URL only, and a secret stored in clear before sealing
// existed still works.
func TestWebhookSecretsSealed(t *testing.T) {
	box := newGCMBox(t)
	hooks := []Webhook{{URL: "https://a.example/hook", Secret: "whsec_a"}, {URL: "https://b.example/hook", Secret: "whsec_b"}, {URL: "https://c.example/hook"}}
	if err := sealWebhookSecrets(box, "ten_1", hooks); err != nil {
		t.Fatal(err)
	}
	sealed := hooks[0].Secret
	if !strings.HasPrefix(sealed, SealedPrefix) || strings.Contains(sealed, "whsec_a") || hooks[2].Secret != "" {
		t.Fatalf("sealed hooks: %+v", hooks)
	}
	if err := sealWebhookSecrets(box, "ten_1", hooks); err != nil || hooks[0].Secret != sealed {
		t.Fatalf("sealing twice changed the sealed value: %v", err)
	}
	if s, err := OpenWebhookSecret(box, "ten_1", hooks[0]); err != nil || s != "whsec_a" {
		t.Fatalf("open = %q, %v", s, err)
	}
	// Moved to another tenant or another URL, it does not open.
	if _, err := OpenWebhookSecret(box, "ten_2", hooks[0]); err == nil {
		t.Fatal("a sealed secret opened for another tenant")
	}
	if _, err := OpenWebhookSecret(box, "ten_1", Webhook{URL: hooks[1].URL, Secret: sealed}); err == nil {
		t.Fatal("a sealed secret opened for another webhook")
	}
	if _, err := OpenWebhookSecret(nil, "ten_1", hooks[0]); err == nil {
		t.Fatal("a sealed secret opened without a box")
	}
	if s, err := OpenWebhookSecret(box, "ten_1", Webhook{URL: "https://old.example", Secret: "whsec_old"}); err != nil || s != "whsec_old" {
		t.Fatalf("a secret stored in clear: %q, %v", s, err)
	}
	open, err := openWebhookSecrets(box, "ten_1", LockboxSettings{Webhooks: hooks})
	if err != nil || open.Webhooks[1].Secret != "whsec_b" || hooks[1].Secret == "whsec_b" {
		t.Fatalf("openWebhookSecrets = %+v, %v (and must not touch its argument)", open.Webhooks, err)
	}
}
