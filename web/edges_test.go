package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestSignInRedirectStaysOnSite (issue 13, item 11): whatever next= a link
// carries, the Location after signing in is a path of this site as a
// browser reads it — which first deletes TAB, CR and LF from the URL, so
// next=/<TAB>/evil.example used to send the user to //evil.example.
func TestSignInRedirectStaysOnSite(t *testing.T) {
	e := newEnv(t)
	hs := httptest.NewServer(e.srv.Handler())
	defer hs.Close()
	site, _ := url.Parse(hs.URL)
	p := e.people["bob"]
	for _, next := range []string{"/\t/evil.example", "/\t\t/evil.example/x", "/\r\n/evil.example", "//evil.example", "/\\evil.example",
		"/\\/evil.example", "https://evil.example", "/%09/evil.example", "/ /evil.example", "\t//evil.example"} {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(hs.URL+"/signin", url.Values{"email": {p.Email}, "password": {testPassword}, "otp": {e.code(p.Secret)}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || loc == "" {
			t.Fatalf("next=%q: %d, Location %q", next, resp.StatusCode, loc)
		}
		// As the WHATWG URL parser reads it: tabs and newlines removed,
		// backslashes are slashes.
		read := strings.NewReplacer("\t", "", "\r", "", "\n", "", "\\", "/").Replace(loc)
		u, err := site.Parse(read)
		if err != nil || u.Host != site.Host || !strings.HasPrefix(loc, "/") || strings.HasPrefix(read, "//") {
			t.Errorf("next=%q: Location %q leads to %v", next, loc, u)
		}
	}
}
