package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox/postgres/pgtest"
)

// TestMain lets a test run this test binary as the lockbox command itself,
// so `serve` is tested as a process: signals, stdout, exit status.
func TestMain(m *testing.M) {
	if os.Getenv("LOCKBOX_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestServeProcess starts `lockbox serve` configured only through LOCKBOX_*
// variables, waits for the line that says where it listens, uses the
// bootstrap token, and stops it with SIGTERM.
func TestServeProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "serve", "--log-format", "json")
	cmd.Env = append(os.Environ(),
		"LOCKBOX_TEST_AS_MAIN=1",
		"LOCKBOX_ADDR=127.0.0.1:0",
		"LOCKBOX_DATA_DIR="+dir,
		"LOCKBOX_BOOTSTRAP_TOKEN=process-test-bootstrap-token-0123",
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var url string
	select {
	case l := <-lines:
		var ok bool
		if url, ok = strings.CutPrefix(l, "lockbox listening on "); !ok {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed nothing in 30s: %s", stderr.String())
	}
	req, _ := http.NewRequest("GET", url+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer process-test-bootstrap-token-0123")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /v1/me with the bootstrap token: %v %v", res, err)
	}
	res.Body.Close()
	if _, err := os.Stat(dir + "/lockbox.db"); err != nil {
		t.Fatalf("no database in LOCKBOX_DATA_DIR: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM: %s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s of SIGTERM")
	}
	if strings.Contains(stderr.String(), "process-test-bootstrap-token-0123") {
		t.Fatal("the bootstrap token is in the server's log")
	}
}

// TestMigrateCommand applies and lists migrations on a fresh PostgreSQL
// schema, as an operator does before rolling out servers.
func TestMigrateCommand(t *testing.T) {
	url := pgtest.URL(t)
	h := newHarness(t)
	h.env["LOCKBOX_DATABASE_URL"] = url
	before := h.ok("migrate", "status")
	if !strings.Contains(before, "00001_schema.sql") || !strings.Contains(before, "pending") {
		t.Fatalf("status before: %s", before)
	}
	if out := h.ok("migrate", "up"); !strings.Contains(out, "migrations applied") {
		t.Fatalf("up: %s", out)
	}
	after := h.ok("migrate", "status")
	if strings.Contains(after, "pending") {
		t.Fatalf("status after up: %s", after)
	}
	h.ok("migrate", "up") // idempotent
	dir := t.TempDir()
	h2 := newHarness(t)
	h2.env["LOCKBOX_DATA_DIR"] = dir
	h2.ok("migrate", "up")
	out := h2.ok("migrate", "status")
	if m := regexp.MustCompile(`schema version (\d+) of (\d+)`).FindStringSubmatch(out); m == nil || m[1] != m[2] {
		t.Fatalf("sqlite status after up: %s", out)
	}
}

// syncBuilder is a strings.Builder safe to read while a process writes it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeSIGHUPReloadsPolicy starts `lockbox serve` on a policy file
// (LOCKBOX_POLICY), breaks the file and sends SIGHUP: the server logs the
// problem with its place and keeps the running policy; a valid file and
// another SIGHUP replace it.
func TestServeSIGHUPReloadsPolicy(t *testing.T) {
	policy := writePolicy(t, "@id(\"v1\")\n@approvers(\"support-leads:1\")\npermit (principal, action, resource);\n")
	const token = "sighup-test-bootstrap-token-0123"
	cmd := exec.Command(os.Args[0], "serve", "--log-format", "json")
	cmd.Env = append(os.Environ(), "LOCKBOX_TEST_AS_MAIN=1", "LOCKBOX_ADDR=127.0.0.1:0", "LOCKBOX_DATA_DIR="+t.TempDir(),
		"LOCKBOX_BOOTSTRAP_TOKEN="+token, "LOCKBOX_POLICY="+policy)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuilder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
	}()
	var url string
	select {
	case l := <-first:
		var ok bool
		if url, ok = strings.CutPrefix(l, "lockbox listening on "); !ok {
			t.Fatalf("first line %q: %s", l, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed nothing in 30s: %s", stderr.String())
	}
	running := func() []string {
		req, _ := http.NewRequest("GET", url+"/v1/admin/policy", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var info struct{ Policies []string }
		if err := json.NewDecoder(res.Body).Decode(&info); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET /v1/admin/policy: %d %v", res.StatusCode, err)
		}
		return info.Policies
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 15s: %s", what, stderr.String())
			}
		}
	}
	if got := running(); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("running %v", got)
	}

	if err := os.WriteFile(policy, []byte("@id(\"v2\")\n@approvers(\"support-leads:1\")\npermit (principal, action, resource) when { context.severity == 1 };\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	problem := policy + `:3:53: context has no attribute \"severity\"`
	waitFor("report of the invalid file", func() bool { return strings.Contains(stderr.String(), problem) })
	if !strings.Contains(stderr.String(), "JIT policy reload failed; the running policy stays") {
		t.Fatalf("log: %s", stderr.String())
	}
	if got := running(); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("after an invalid file, running %v", got)
	}

	if err := os.WriteFile(policy, []byte("@id(\"v3\")\n@internal_approval(\"none\")\npermit (principal, action, resource);\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("reload", func() bool { return slices.Equal(running(), []string{"v3"}) })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v: %s", err, stderr.String())
	}
}

// TestServeInvalidPolicy checks that serve refuses to start on an invalid
// policy file and says where the problems are.
func TestServeInvalidPolicy(t *testing.T) {
	policy := writePolicy(t, "@approvers(\"support-leads:1\")\npermit (principal, action, resource) when { principal.mfaa };\n")
	h := newHarness(t)
	r := h.run("serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--policy", policy)
	want := "lockbox: --policy: policy file " + policy + " is invalid (1 problem)\n  - " + policy +
		`:2:55: principal has no attribute "mfaa": its attributes are groups, isolated, mfa, roles` + "\n"
	if r.code == 0 || r.stderr != want {
		t.Fatalf("serve on an invalid policy: exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
	}
}

// TestServeGatewayURL checks that --gateway-url (and LOCKBOX_GATEWAY_URL)
// must be an http(s) URL, and says what is wanted.
func TestServeGatewayURL(t *testing.T) {
	for _, bad := range []string{"gateway.example.com", "ftp://gateway.example.com", "https://gw.example/?x=1"} {
		h := newHarness(t)
		r := h.run("serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--gateway-url", bad)
		if r.code == 0 || !strings.Contains(r.stderr, "--gateway-url") || !strings.Contains(r.stderr, "https://gateway.example.com") {
			t.Errorf("serve --gateway-url %q: exit %d, stderr %q; want a refusal saying what is wanted", bad, r.code, r.stderr)
		}
	}
	h := newHarness(t)
	h.env["LOCKBOX_GATEWAY_URL"] = "gateway:8081"
	if r := h.run("serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"); r.code == 0 || !strings.Contains(r.stderr, `--gateway-url "gateway:8081"`) {
		t.Errorf("LOCKBOX_GATEWAY_URL=gateway:8081: exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
}
