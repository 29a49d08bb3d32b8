package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
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
