package main

import (
	"bytes"
	"context"
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
// logins with TOTP codes, the request, both approvals, the revocation and
// the tenant's log.
func TestDemoWalkThrough(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut lockedBuffer
	done := make(chan int)
	go func() {
		c := newCLI(&out, &errOut, func(string) string { return "" })
		done <- c.run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()})
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
	ran := 0
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
		case strings.HasPrefix(line, "alias "), line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, "Stop"):
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
		if len(words) == 0 || words[0] != "lockbox" {
			t.Fatalf("the walk-through has a line that is not a lockbox command: %q", line)
		}
		stdout := h.ok(words[1:]...)
		if assign != "" {
			vars[assign] = strings.TrimSpace(stdout)
		}
		ran++
		if strings.Contains(line, " events ") {
			for _, want := range []string{"request.created", "request.pending_customer", "request.approved", "request.revoked"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("the tenant's log lacks %s:\n%s", want, stdout)
				}
			}
		}
		if strings.Contains(line, "request revoke") && !strings.Contains(stdout, "revoked") {
			t.Errorf("revoke printed %q", stdout)
		}
	}
	if ran < 10 {
		t.Fatalf("ran %d commands of the walk-through, want at least 10:\n%s", ran, walk)
	}
	if !strings.HasPrefix(vars["REQ"], "req_") {
		t.Fatalf("REQ = %q", vars["REQ"])
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
