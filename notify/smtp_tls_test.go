package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox/notify"
	"github.com/lockbox-dev/lockbox/notify/mailpittest"
)

// testCert writes a self-signed certificate for 127.0.0.1 and returns its
// files and a pool trusting it.
func testCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// TestSMTPTLS sends with credentials over STARTTLS (mandatory, since the URL
// has credentials) and over implicit TLS (smtps://), and refuses to send
// credentials to a server that offers no STARTTLS.
func TestSMTPTLS(t *testing.T) {
	cert, key, pool := testCert(t)
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	for _, tc := range []struct {
		name   string
		flags  []string
		scheme string
	}{
		{"starttls", []string{"--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls"}, "smtp"},
		{"tls", []string{"--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-tls"}, "smtps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp := mailpittest.Start(t, tc.flags...)
			c, err := notify.ParseSMTPURL(tc.scheme+"://lockbox:pw-0123@"+mp.SMTPAddr, "lockbox@operator.example")
			if err != nil {
				t.Fatal(err)
			}
			c.TLSConfig = tlsConf
			err = notify.NewSMTPMailer(c).Send(t.Context(), &notify.Email{ID: "ntf_tls", To: "bob@acme.example",
				Subject: "over " + tc.name, Text: "hello", HTML: "<p>hello</p>"})
			if err != nil {
				t.Fatal(err)
			}
			if n := mp.WaitCount(t, 1, 10*time.Second); n != 1 {
				t.Fatalf("%d messages arrived", n)
			}
		})
	}
	t.Run("no starttls offered", func(t *testing.T) {
		mp := mailpittest.Start(t)
		c, err := notify.ParseSMTPURL("smtp://lockbox:pw-0123@"+mp.SMTPAddr, "lockbox@operator.example")
		if err != nil {
			t.Fatal(err)
		}
		err = notify.NewSMTPMailer(c).Send(t.Context(), &notify.Email{ID: "ntf_plain", To: "bob@acme.example", Subject: "s", Text: "t"})
		if err == nil || strings.Contains(err.Error(), "pw-0123") {
			t.Fatalf("sending credentials without STARTTLS: %v, want a refusal that does not show the password", err)
		}
		if n := mp.Count(t); n != 0 {
			t.Fatalf("%d messages arrived", n)
		}
	})
}
