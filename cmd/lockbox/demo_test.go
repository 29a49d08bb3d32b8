package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader in two
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemoWalkThrough runs `lockbox demo` and then every command of the
// walk-through it prints, as a newcomer pasting them into a shell would:
// logins with TOTP codes, the request, both approvals, the grant token, the
// reads through the gateway with curl (done here with net/http), the
// revocation, the refused read and the tenant's log with every access.
func TestDemoWalkThrough(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dataDir := t.TempDir()
	var out, errOut lockedBuffer
	done := make(chan int)
	go func() {
		c := newCLI(&out, &errOut, func(string) string { return "" })
		done <- c.run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--data-dir", dataDir})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("demo exited %d: %s", code, errOut.String())
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Stop the demo") {
		if time.Now().After(deadline) {
			t.Fatalf("the demo printed no walk-through in 30s:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	printed := out.String()
	_, walk, _ := strings.Cut(printed, "Walk the workflow in another terminal:")

	h := newHarness(t)
	vars := map[string]string{}
	// A shell's job, done by hand: join continued lines, drop comments,
	// expand $(lockbox …) and $VAR, split words honouring double quotes.
	walk = strings.ReplaceAll(walk, "\\\n", " ")
	subst := regexp.MustCompile(`\$\(lockbox ([^)]*)\)`)
	ran, reads, revoked := 0, 0, false
	for _, line := range strings.Split(walk, "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "  #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case strings.HasPrefix(line, "export "):
			for _, kv := range strings.Fields(strings.TrimPrefix(line, "export ")) {
				k, v, _ := strings.Cut(kv, "=")
				h.env[k] = v
			}
			continue
		case strings.HasPrefix(line, "alias "), strings.HasPrefix(line, "GOTOOLCHAIN=go1.27.3 go build "), line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, "Stop"):
			continue
		}
		assign := ""
		if k, v, ok := strings.Cut(line, "=$("); ok && !strings.Contains(k, " ") && strings.HasSuffix(v, ")") {
			assign, line = k, strings.TrimSuffix(v, ")")
		}
		line = subst.ReplaceAllStringFunc(line, func(m string) string {
			return strings.TrimSpace(h.ok(shellWords(subst.FindStringSubmatch(m)[1])...))
		})
		for k, v := range vars {
			line = strings.ReplaceAll(line, "$"+k, v)
		}
		words := shellWords(line)
		if len(words) > 0 && words[0] == "curl" {
			checkDemoRead(t, words, revoked)
			reads++
			ran++
			continue
		}
		if len(words) == 0 || words[0] != "lockbox" {
			t.Fatalf("the walk-through has a line that is not a lockbox command: %q", line)
		}
		stdout := h.ok(words[1:]...)
		if strings.Contains(line, " events ") {
			// Access records reach the log asynchronously: the completion
			// after the response, the refusal with the next batch.
			logged := func() bool {
				return strings.Contains(stdout, "access.refused") && strings.Contains(stdout, "access.completed")
			}
			for end := time.Now().Add(5 * time.Second); !logged() && time.Now().Before(end); {
				time.Sleep(50 * time.Millisecond)
				stdout = h.ok(words[1:]...)
			}
		}
		if assign != "" {
			vars[assign] = strings.TrimSpace(stdout)
		}
		ran++
		if strings.Contains(line, " events ") {
			for _, want := range []string{"request.created", "request.pending_customer", "request.approved", "request.revoked",
				"access.allowed", "access.completed", "access.refused"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("the tenant's log lacks %s:\n%s", want, stdout)
				}
			}
		}
		if strings.Contains(line, "demo mail") {
			// The e-mails go out asynchronously, one recipient after the
			// other, within moments: wait for all of them.
			wants := []string{"To: alice@contoso.example", "To: bob@contoso.example", "Trace the lost mail", "/requests/req_"}
			all := func() bool {
				for _, want := range wants {
					if !strings.Contains(stdout, want) {
						return false
					}
				}
				return true
			}
			for end := time.Now().Add(5 * time.Second); !all() && time.Now().Before(end); {
				time.Sleep(50 * time.Millisecond)
				stdout = h.ok(words[1:]...)
			}
			for _, want := range wants {
				if !strings.Contains(stdout, want) {
					t.Errorf("demo mail lacks %q:\n%s", want, stdout)
				}
			}
		}
		if strings.Contains(line, "request show") && !strings.Contains(stdout, "Notifications:") {
			t.Errorf("request show lists no notifications:\n%s", stdout)
		}
		if strings.Contains(line, "request revoke") {
			revoked = true
			if !strings.Contains(stdout, "revoked") {
				t.Errorf("revoke printed %q", stdout)
			}
		}
	}
	if ran < 10 {
		t.Fatalf("ran %d commands of the walk-through, want at least 10:\n%s", ran, walk)
	}
	if !strings.HasPrefix(vars["REQ"], "req_") {
		t.Fatalf("REQ = %q", vars["REQ"])
	}
	if strings.Count(vars["TOKEN"], ".") != 2 {
		t.Fatalf("TOKEN = %q", vars["TOKEN"])
	}
	if reads < 2 {
		t.Fatalf("the walk-through reads through the gateway %d times, want before and after the revocation:\n%s", reads, walk)
	}
	// The approvers were e-mailed without a mail server.
	mailed := "[demo mail] to bob@contoso.example: [lockbox] Approval needed"
	for end := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), mailed) && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), mailed) {
		t.Errorf("the demo did not announce the approval e-mail to bob:\n%s", out.String())
	}

	// The server's log of the whole run holds none of the secrets it used:
	// the password, the TOTP secrets, the sessions and the grant token.
	serverLog, err := os.ReadFile(filepath.Join(dataDir, "server.log"))
	if err != nil || len(serverLog) == 0 {
		t.Fatalf("the demo's server log: %d bytes, %v", len(serverLog), err)
	}
	secrets := append([]string{"lockbox-demo-password", vars["TOKEN"]}, regexp.MustCompile(`\b[A-Z2-7]{32}\b`).FindAllString(printed, -1)...)
	creds, err := os.ReadFile(h.env["LOCKBOX_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	sessions := regexp.MustCompile(`"token":\s*"([^"]+)"`).FindAllStringSubmatch(string(creds), -1)
	if len(sessions) < 4 {
		t.Fatalf("the credentials file holds %d sessions, want one per person", len(sessions))
	}
	for _, m := range sessions {
		secrets = append(secrets, m[1])
	}
	for _, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("a secret of %d characters: the extraction is broken", len(s))
		}
		if strings.Contains(string(serverLog), s) {
			t.Errorf("the server log holds a secret (%.6s…)", s)
		}
	}
	t.Logf("the server log (%d bytes) holds none of the %d secrets of the run", len(serverLog), len(secrets))
}

// checkDemoRead does what `curl -s -H "Authorization: Bearer T" URL` does
// and checks what the user sees: before the revocation the mailbox's
// messages (once the gateway has synced its feed), after it the refusal
// access_ended within a second (the revocation feed is asynchronous).
func checkDemoRead(t *testing.T, words []string, revoked bool) {
	t.Helper()
	var url, auth string
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-s":
		case w == "-H" && i+1 < len(words):
			i++
			k, v, _ := strings.Cut(words[i], ":")
			if k != "Authorization" {
				t.Fatalf("curl with header %q", words[i])
			}
			auth = strings.TrimSpace(v)
		case strings.HasPrefix(w, "http://") && url == "":
			url = w
		default:
			t.Fatalf("curl with %q, which this test does not emulate: %q", w, words)
		}
	}
	if url == "" || !strings.HasPrefix(auth, "Bearer ey") {
		t.Fatalf("curl without a URL or a grant token: %q", words)
	}
	get := func() (int, string) {
		r, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", auth)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	start := time.Now()
	status, body := get()
	if !revoked {
		for status == http.StatusServiceUnavailable && time.Since(start) < 10*time.Second {
			time.Sleep(50 * time.Millisecond)
			status, body = get()
		}
		if status != http.StatusOK || !strings.Contains(body, "alice@contoso.example") || !strings.Contains(body, "Undelivered Mail Returned to Sender") {
			t.Fatalf("read %s through the gateway: %d %s", url, status, body)
		}
		if strings.HasSuffix(url, "/messages") && (!strings.Contains(body, `"messages"`) || !strings.Contains(body, "Order 4711 confirmed")) {
			t.Fatalf("the message list through the gateway: %s", body)
		}
		return
	}
	for status != http.StatusForbidden && time.Since(start) < time.Second {
		time.Sleep(20 * time.Millisecond)
		status, body = get()
	}
	if status != http.StatusForbidden || !strings.Contains(body, `"access_ended"`) {
		t.Fatalf("read %s a second after the revocation: %d %s", url, status, body)
	}
}

// shellWords splits a command line into words, honouring double quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestDemoMailboxes checks the demo's customer-content service on its own:
// the list without bodies, one message with its body, and 404 for another
// tenant, mailbox or message.
func TestDemoMailboxes(t *testing.T) {
	m := newDemoMailboxes("tnt_demo", time.Now())
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/tenants/tnt_demo/mailboxes/bob/messages"); code != 200 || !strings.Contains(body, "Mail delivery issue") || strings.Contains(body, `"body"`) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, body := get("/tenants/tnt_demo/mailboxes/alice/messages/msg_3"); code != 200 || !strings.Contains(body, "relay access denied") {
		t.Errorf("message: %d %s", code, body)
	}
	for _, p := range []string{"/tenants/tnt_other/mailboxes/alice/messages", "/tenants/tnt_demo/mailboxes/carol/messages",
		"/tenants/tnt_demo/mailboxes/alice/messages/msg_9", "/"} {
		if code, body := get(p); code != 404 || !strings.Contains(body, "not_found") {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
}

// TestDemoCLISetupLine: the line the demo prints to make "lockbox" a
// command never aliases lockbox to itself (under go run), and quotes a path
// with spaces.
func TestDemoCLISetupLine(t *testing.T) {
	if got := cliSetup("lockbox"); strings.Contains(got, "alias lockbox=lockbox") || !strings.Contains(got, "go build -o bin/lockbox ./cmd/lockbox") {
		t.Errorf("under go run: %q", got)
	}
	if got := cliSetup("/opt/my tools/lockbox"); got != "alias lockbox='/opt/my tools/lockbox'" {
		t.Errorf("installed binary: %q", got)
	}
}

// TestDemoRemovesItsTemporaryDirectory: without --data-dir the demo makes
// a directory of its own and removes it when it stops (also when it fails
// to start); --keep-data keeps it.
func TestDemoRemovesItsTemporaryDirectory(t *testing.T) {
	for _, keep := range []bool{false, true} {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		args := []string{"demo", "--addr", "256.0.0.1:0"} // fails to start
		if keep {
			args = append(args, "--keep-data")
		}
		var out, errOut lockedBuffer
		c := newCLI(&out, &errOut, func(string) string { return "" })
		if code := c.run(context.Background(), args); code == 0 {
			t.Fatalf("a demo on a bad address exited 0")
		}
		left, _ := filepath.Glob(filepath.Join(tmp, "lockbox-demo-*"))
		if keep && len(left) != 1 {
			t.Errorf("--keep-data: %d directories left, want 1", len(left))
		}
		if !keep && len(left) != 0 {
			t.Errorf("the demo left %v behind", left)
		}
	}
}
