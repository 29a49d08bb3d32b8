// Package mailpittest runs a real SMTP server for tests: mailpit
// (github.com/axllent/mailpit), built with `go build` from the nested
// module bench/mailtools, started on free ports and read through its HTTP
// API (/api/v1/messages).
//
// When mailpit cannot be built (no module cache and no network), the test
// is skipped, unless the CI environment variable is set: then it fails, so
// a CI job never passes by skipping every e-mail test.
package mailpittest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a mailpit binary, building it once per test
// process (kept in the temporary directory, keyed by the tool module's
// go.sum, so later runs reuse it).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { binPath, buildErr = build() })
	if buildErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mailpit cannot be built (CI is set, so this fails instead of skipping): %v", buildErr)
		}
		t.Skipf("mailpit cannot be built, skipping (set CI to make this fail): %v", buildErr)
	}
	return binPath
}

func build() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	mod := filepath.Join(filepath.Dir(file), "..", "..", "bench", "mailtools")
	sum, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(sum)
	dir := filepath.Join(os.TempDir(), "lockbox-mailpit-"+hex.EncodeToString(h[:6]))
	bin := filepath.Join(dir, "mailpit")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "github.com/axllent/mailpit")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build github.com/axllent/mailpit in %s: %v\n%s", mod, err, out)
	}
	return bin, os.Rename(tmp, bin)
}

// Server is a running mailpit.
type Server struct {
	// SMTPAddr is host:port of its SMTP listener; SMTPURL the matching
	// --smtp-url (plain SMTP, no STARTTLS).
	SMTPAddr, SMTPURL string
	// APIURL is the base URL of its HTTP API.
	APIURL string
	cmd    *exec.Cmd
}

// Start runs mailpit on free ports until the test ends; args are extra
// mailpit flags (such as --smtp-tls-cert).
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := Binary(t)
	var last error
	for range 3 {
		s, err := start(t, bin, args)
		if err == nil {
			return s
		}
		last = err
	}
	t.Fatalf("mailpit did not start: %v", last)
	return nil
}

func start(t testing.TB, bin string, args []string) (*Server, error) {
	smtpAddr, httpAddr := FreeAddr(t), FreeAddr(t)
	base := []string{"--smtp", smtpAddr, "--listen", httpAddr, "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--max", "100000", "--smtp-auth-accept-any", "--smtp-disable-rdns", "--disable-version-check", "--quiet"}
	if !slices.Contains(args, "--smtp-tls-cert") {
		base = append(base, "--smtp-auth-allow-insecure") // mailpit refuses it with TLS
	}
	cmd := exec.Command(bin, append(base, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{SMTPAddr: smtpAddr, SMTPURL: "smtp://" + smtpAddr + "?starttls=false", APIURL: "http://" + httpAddr, cmd: cmd}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			return nil, fmt.Errorf("mailpit exited at start (a port taken, or a bad flag: see its output)")
		default:
		}
		resp, err := http.Get(s.APIURL + "/api/v1/info")
		if err == nil {
			resp.Body.Close()
			if c, err := net.DialTimeout("tcp", smtpAddr, time.Second); err == nil {
				c.Close()
				if resp.StatusCode == http.StatusOK {
					t.Cleanup(stop)
					return s, nil
				}
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("mailpit did not answer on %s within 30s", s.APIURL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// FreeAddr returns a 127.0.0.1 address with a port nothing listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Address is a mail address as mailpit reports it.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Message is a received e-mail.
type Message struct {
	ID        string    `json:"ID"`
	MessageID string    `json:"MessageID"`
	From      Address   `json:"From"`
	To        []Address `json:"To"`
	Subject   string    `json:"Subject"`
	Text      string    `json:"Text"`
	HTML      string    `json:"HTML"`
}

// Recipients returns the message's To addresses.
func (m Message) Recipients() []string {
	var out []string
	for _, a := range m.To {
		out = append(out, strings.ToLower(a.Address))
	}
	return out
}

// Messages returns every received message, with its text and HTML parts.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	var list struct {
		Messages []Message `json:"messages"`
	}
	s.get(t, "/api/v1/messages?limit=100000", &list)
	out := make([]Message, 0, len(list.Messages))
	for _, m := range list.Messages {
		var full Message
		s.get(t, "/api/v1/message/"+m.ID, &full)
		out = append(out, full)
	}
	return out
}

// Count returns how many messages mailpit holds.
func (s *Server) Count(t testing.TB) int {
	t.Helper()
	var list struct {
		Total int `json:"total"`
	}
	s.get(t, "/api/v1/messages?limit=1", &list)
	return list.Total
}

// WaitCount waits until mailpit holds at least n messages, and returns how
// many it holds.
func (s *Server) WaitCount(t testing.TB, n int, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := s.Count(t)
		if c >= n || time.Now().After(deadline) {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.APIURL + path)
	if err != nil {
		t.Fatalf("mailpit API %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit API %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit API %s: %v", path, err)
	}
}
