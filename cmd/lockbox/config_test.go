package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func loginAnswer(token, email string, expires time.Time) string {
	return `{"token":"` + token + `","expires_at":"` + expires.UTC().Format(time.RFC3339) + `",
		"user":{"id":"usr_` + email[:3] + `","kind":"operator","email":"` + email + `","display_name":"X","roles":["engineer"],"groups":[],
		"isolated":false,"totp_enabled":true,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}}`
}

const meAnswer = `{"id":"usr_1","kind":"operator","email":"eve@op.test","display_name":"Eve","roles":["engineer"],"groups":["support"],
	"isolated":false,"totp_enabled":true,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","mfa":true,"amr":["pwd","otp"]}`

func TestCredentialsProfiles(t *testing.T) {
	api := newFakeAPI(t)
	h := newHarness(t)
	h.env["LOCKBOX_SERVER"] = api.srv.URL + "/" // trailing slash is normalised
	path := h.env["LOCKBOX_CONFIG"]
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)

	// Sign in as two people under two profiles.
	api.expect(
		exchange{method: "POST", path: "/v1/auth/login", token: "-",
			body:   `{"email":"eve@op.test","password":"pw-eve-long","otp":"123456"}`,
			answer: loginAnswer("lbx_s_eve", "eve@op.test", expires)},
		exchange{method: "POST", path: "/v1/auth/login", token: "-",
			body:   `{"email":"lea@op.test","password":"pw-lea-long"}`,
			answer: loginAnswer("lbx_s_lea", "lea@op.test", expires)},
	)
	out := h.ok("login", "--email", "eve@op.test", "--password", "pw-eve-long", "--otp", "123456")
	if !strings.Contains(out, "as eve@op.test") || !strings.Contains(out, "MFA") || strings.Contains(out, "lbx_s_eve") {
		t.Errorf("login output %q", out)
	}
	h.stdin = "pw-lea-long\n"
	out = h.ok("--profile", "lead", "-o", "json", "login", "--email", "lea@op.test", "--password-stdin")
	h.stdin = ""
	if strings.Contains(out, "lbx_s_lea") {
		t.Errorf("login -o json prints the session token: %s", out)
	}
	var view struct{ Profile, Server string }
	if err := json.Unmarshal([]byte(out), &view); err != nil || view.Profile != "lead" || view.Server != api.srv.URL {
		t.Errorf("login -o json: %s (%v)", out, err)
	}

	// The file is private and keeps both profiles apart.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && (fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700) {
		t.Errorf("file mode %v, directory mode %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	var file credentialsFile
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	want := map[string]profileCreds{
		"default": {Server: api.srv.URL, Token: "lbx_s_eve", ExpiresAt: expires, Email: "eve@op.test"},
		"lead":    {Server: api.srv.URL, Token: "lbx_s_lea", ExpiresAt: expires, Email: "lea@op.test"},
	}
	for name, w := range want {
		if p := file.Profiles[name]; p == nil || *p != w {
			t.Errorf("profile %s = %+v, want %+v", name, p, w)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	// Each profile sends its own token; --token and LOCKBOX_TOKEN override.
	api.expect(
		exchange{method: "GET", path: "/v1/me", token: "lbx_s_eve", answer: meAnswer},
		exchange{method: "GET", path: "/v1/me", token: "lbx_s_lea", answer: meAnswer},
		exchange{method: "GET", path: "/v1/me", token: "lbx_t_flag", answer: meAnswer},
		exchange{method: "GET", path: "/v1/me", token: "lbx_t_env", answer: meAnswer},
		exchange{method: "GET", path: "/v1/me", token: "lbx_t_flag", answer: meAnswer},
	)
	out = h.ok("whoami")
	if !strings.Contains(out, "eve@op.test") || !strings.Contains(out, "MFA session:") {
		t.Errorf("whoami output %q", out)
	}
	h.ok("--profile", "lead", "whoami")
	h.env["LOCKBOX_PROFILE"] = "lead"
	h.ok("--token", "lbx_t_flag", "whoami")
	h.env["LOCKBOX_TOKEN"] = "lbx_t_env"
	h.ok("whoami")
	h.ok("whoami", "--token", "lbx_t_flag")
	delete(h.env, "LOCKBOX_TOKEN")
	delete(h.env, "LOCKBOX_PROFILE")

	// A session is never sent to another server.
	r := h.fails("is signed in to "+api.srv.URL, "--server", "http://other.example:8080", "whoami")
	if strings.Contains(r.stderr, "lbx_s_") {
		t.Errorf("stderr leaks the token: %s", r.stderr)
	}

	// Logout ends the session on the server and forgets one profile only.
	api.expect(exchange{method: "POST", path: "/v1/auth/logout", token: "lbx_s_eve", status: 204})
	out = h.ok("logout")
	if !strings.Contains(out, `Signed out of profile "default"`) || !strings.Contains(out, "The server ended the session.") {
		t.Errorf("logout output %q", out)
	}
	h.fails(`not signed in (profile "default")`, "whoami")
	api.expect(exchange{method: "GET", path: "/v1/me", token: "lbx_s_lea", answer: meAnswer})
	h.ok("--profile", "lead", "whoami")

	// An expired session is not sent.
	h.now = expires.Add(time.Second)
	h.fails(`the session of profile "lead" expired`, "--profile", "lead", "whoami")
}

func TestLoginPassword(t *testing.T) {
	api := newFakeAPI(t)
	h := newHarness(t)
	h.env["LOCKBOX_SERVER"] = api.srv.URL
	expires := time.Now().Add(time.Hour)

	// LOCKBOX_PASSWORD is used when no flag gives one.
	h.env["LOCKBOX_PASSWORD"] = "from-the-env"
	api.expect(exchange{method: "POST", path: "/v1/auth/login", token: "-",
		body: `{"email":"eve@op.test","password":"from-the-env"}`, answer: loginAnswer("t1", "eve@op.test", expires)})
	h.ok("login", "--email", "eve@op.test")
	delete(h.env, "LOCKBOX_PASSWORD")

	// Without a terminal there is no prompt: a clear error.
	h.fails("no password", "login", "--email", "eve@op.test")

	// A failed login keeps the stored session.
	api.expect(exchange{method: "POST", path: "/v1/auth/login", token: "-", status: 401,
		body: `{"email":"eve@op.test","password":"wrong-password"}`, answer: `{"error":{"code":"unauthenticated","message":"wrong e-mail, password or code"}}`})
	h.fails("401 unauthenticated: wrong e-mail, password or code", "login", "--email", "eve@op.test", "--password", "wrong-password")
	api.expect(exchange{method: "GET", path: "/v1/me", token: "t1", answer: meAnswer})
	h.ok("whoami")
}

func TestLoginUsesProfileServer(t *testing.T) {
	api := newFakeAPI(t)
	h := newHarness(t)
	expires := time.Now().Add(time.Hour)
	api.expect(
		exchange{method: "POST", path: "/v1/auth/login", token: "-", body: `{"email":"a@b.test","password":"password-1"}`,
			answer: loginAnswer("t1", "a@b.test", expires)},
		// Later commands and a second login go to the profile's server
		// without --server.
		exchange{method: "GET", path: "/v1/me", token: "t1", answer: meAnswer},
		exchange{method: "POST", path: "/v1/auth/login", token: "-", body: `{"email":"a@b.test","password":"password-2"}`,
			answer: loginAnswer("t2", "a@b.test", expires)},
		exchange{method: "GET", path: "/v1/me", token: "t2", answer: meAnswer},
	)
	h.ok("--server", api.srv.URL, "login", "--email", "a@b.test", "--password", "password-1")
	h.ok("whoami")
	h.ok("login", "--email", "a@b.test", "--password", "password-2")
	h.ok("whoami")
}

func TestCredentialsFileProblems(t *testing.T) {
	h := newHarness(t)
	path := h.env["LOCKBOX_CONFIG"]
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}

	// A damaged file is reported without quoting its content.
	os.WriteFile(path, []byte(`{"profiles": {"default": {"token": "lbx_s_secret"`), 0o600)
	r := h.fails("is not valid JSON", "whoami")
	if strings.Contains(r.stderr, "lbx_s_secret") {
		t.Errorf("stderr quotes the file: %s", r.stderr)
	}

	// A file others can read draws a warning.
	if runtime.GOOS == "windows" {
		return
	}
	os.WriteFile(path, []byte(`{"profiles":{"default":{"server":"http://127.0.0.1:1","token":"x","email":"a@b.test"}}}`), 0o600)
	os.Chmod(path, 0o644)
	r = h.run("logout")
	if r.code != 0 || !strings.Contains(r.stderr, "readable by others") {
		t.Errorf("logout: exit %d, stderr %q; want a warning about mode 0644", r.code, r.stderr)
	}
	// The server (port 1) cannot be reached: the session is forgotten here
	// anyway, with a warning that it stays valid on the server.
	if !strings.Contains(r.stderr, "the server did not end the session") || !strings.Contains(r.stdout, "forgotten here only") {
		t.Errorf("logout with the server down: stdout %q, stderr %q; want a warning", r.stdout, r.stderr)
	}
	// Saving makes it private again.
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after logout %v", fi.Mode().Perm())
	}
}
