package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// exchange is one API request a test expects and the canned answer.
type exchange struct {
	method string
	path   string
	query  url.Values
	body   string // JSON the body must equal semantically; "" for none
	token  string // bearer token expected; "-" for no Authorization header

	status int
	answer string
}

// fakeAPI is an httptest server that expects exchanges in order.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	exchanges []exchange
	served    int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.served != len(f.exchanges) {
			t.Errorf("fake API served %d of %d expected requests", f.served, len(f.exchanges))
		}
	})
	return f
}

// expect queues exchanges.
func (f *fakeAPI) expect(ex ...exchange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exchanges = append(f.exchanges, ex...)
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	t := f.t
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.served >= len(f.exchanges) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	ex := f.exchanges[f.served]
	f.served++

	if r.Method != ex.method || r.URL.EscapedPath() != ex.path {
		t.Errorf("request %s %s, want %s %s", r.Method, r.URL.EscapedPath(), ex.method, ex.path)
	}
	wantQ := ex.query
	if wantQ == nil {
		wantQ = url.Values{}
	}
	if got := r.URL.Query(); !reflect.DeepEqual(got, wantQ) {
		t.Errorf("%s %s: query %v, want %v", ex.method, ex.path, got, wantQ)
	}
	wantAuth := "Bearer " + ex.token
	if ex.token == "-" {
		wantAuth = ""
	}
	if got := r.Header.Get("Authorization"); got != wantAuth {
		t.Errorf("%s %s: Authorization %q, want %q", ex.method, ex.path, got, wantAuth)
	}
	body, _ := io.ReadAll(r.Body)
	if ex.body == "" && len(body) > 0 {
		t.Errorf("%s %s: body %s, want none", ex.method, ex.path, body)
	}
	if ex.body != "" {
		var got, want any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("%s %s: body %q: %v", ex.method, ex.path, body, err)
		}
		if err := json.Unmarshal([]byte(ex.body), &want); err != nil {
			t.Fatalf("bad test body %s: %v", ex.body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s: body\n %s\nwant\n %s", ex.method, ex.path, body, ex.body)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	status := ex.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, ex.answer)
}

// result is what one run of the command line produced.
type result struct {
	stdout, stderr string
	code           int
}

// harness runs the command line in-process with a private environment.
type harness struct {
	t     *testing.T
	env   map[string]string
	stdin string
	now   time.Time        // fixed time of the command line, unless zero
	clock func() time.Time // or its clock, when set
	// invitationLink reads e-mailed invitation links (lockbox soak).
	invitationLink func(ctx context.Context, email string) (string, error)
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, env: map[string]string{"LOCKBOX_CONFIG": t.TempDir() + "/lockbox/credentials.json"}}
}

func (h *harness) run(args ...string) result {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	c := newCLI(&stdout, &stderr, func(k string) string { return h.env[k] })
	c.stdin = strings.NewReader(h.stdin)
	c.invitationLink = h.invitationLink
	switch {
	case h.clock != nil:
		c.now = h.clock
	case !h.now.IsZero():
		c.now = func() time.Time { return h.now }
	}
	code := c.run(context.Background(), args)
	return result{stdout.String(), stderr.String(), code}
}

// ok runs args and fails the test unless they succeed.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("lockbox %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs args and fails the test unless they fail with a stderr
// containing want.
func (h *harness) fails(want string, args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code == 0 {
		h.t.Fatalf("lockbox %s: succeeded, want failure\nstdout: %s", strings.Join(args, " "), r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "lockbox: ") || !strings.Contains(r.stderr, want) {
		h.t.Errorf("lockbox %s: stderr %q, want it to contain %q", strings.Join(args, " "), r.stderr, want)
	}
	return r
}

func TestRunInProcess(t *testing.T) {
	// run is the entry point tests of the real server will use.
	var stdout, stderr bytes.Buffer
	env := map[string]string{"LOCKBOX_CONFIG": t.TempDir() + "/c.json"}
	code := run(context.Background(), []string{"whoami"}, &stdout, &stderr, func(k string) string { return env[k] })
	if code != 1 || !strings.Contains(stderr.String(), "lockbox: not signed in") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr, nil); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t)
	h.env["LOCKBOX_TOKEN"] = "tok"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"request", "approve", "req_1"}, `required flag(s) "reason" not set`},
		{[]string{"request", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"request", "show"}, "accepts 1 arg(s), received 0"},
		{[]string{"-o", "yaml", "tenant", "list"}, `--output must be table, json or id`},
		{[]string{"--profile", "../etc", "whoami"}, `profile "../etc"`},
		{[]string{"request", "create", "--duration", "soon"}, `invalid duration "soon"`},
		{[]string{"lockbox", "set", "ten_1"}, "nothing to change"},
		{[]string{"user", "update", "usr_1"}, "nothing to change"},
		{[]string{"totp", "code"}, "LOCKBOX_TOTP_SECRET"},
	} {
		r := h.fails(tc.want, tc.args...)
		if !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("%v: no usage hint in %q", tc.args, r.stderr)
		}
	}
}

func TestEnvOfReachesCommands(t *testing.T) {
	// Server commands added by addServerCommands read the run's environment.
	c := newCLI(io.Discard, io.Discard, func(k string) string { return "v-" + k })
	root := c.newRootCmd()
	var got string
	root.AddCommand(&cobra.Command{Use: "probe", RunE: func(cmd *cobra.Command, _ []string) error {
		got = envOf(cmd)("LOCKBOX_DATA_DIR")
		return nil
	}})
	if code := c.execute(context.Background(), root, []string{"probe"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got != "v-LOCKBOX_DATA_DIR" {
		t.Errorf("envOf = %q", got)
	}
}
