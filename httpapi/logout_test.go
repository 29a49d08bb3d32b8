package httpapi_test

import (
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// TestLogout: signing out ends that session on the API at once, and only
// that one; an API token is not a session and is refused with a message.
func TestLogout(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Logout")
	first := e.loginMFA(w.approver)
	second := e.loginMFA(w.approver)

	e.must(200, "GET", "/v1/me", first, nil, nil)
	e.must(204, "POST", "/v1/auth/logout", first, nil, nil)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/me"},
		{"GET", "/v1/requests?tenant_id=" + string(w.tenant.ID)},
		{"POST", "/v1/auth/logout"},
	} {
		if res := e.call(c.method, c.path, first, nil); res.Status != 401 || res.errCode() != lockbox.CodeUnauthenticated {
			t.Errorf("%s %s with the signed-out token: %d %s, want 401 unauthenticated", c.method, c.path, res.Status, res.Body)
		}
	}
	// The user's other session lives on.
	e.must(200, "GET", "/v1/me", second, nil, nil)

	// An API token is not ended by logout: 422, and it still works.
	var tok struct{ Token string }
	e.must(201, "POST", "/v1/users/"+string(w.engineer.ID)+"/tokens", w.engineer.token, map[string]any{"name": "ci"}, &tok)
	res := e.call("POST", "/v1/auth/logout", tok.Token, nil)
	if res.Status != 422 || res.errCode() != lockbox.CodeInvalid {
		t.Fatalf("logout with an API token: %d %s, want 422 invalid", res.Status, res.Body)
	}
	e.must(200, "GET", "/v1/me", tok.Token, nil, nil)

	// Without a token there is nothing to end.
	if res := e.call("POST", "/v1/auth/logout", "", nil); res.Status != 401 {
		t.Errorf("logout without a token: %d, want 401", res.Status)
	}
}
