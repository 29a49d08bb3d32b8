package web

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safeNext keeps a post-sign-in redirect on this site: a clean path, or
// "/". A path starts with a single "/" (not "//" or "/\\", which browsers
// read as another host) and holds no backslash (browsers read it as "/"),
// no control character and no whitespace anywhere: browsers delete TAB, CR
// and LF from a URL before reading it, so "/\t/evil.example" would be
// "//evil.example". Percent-encoded forms ("/%09/evil", "/%2F%2Fevil") are
// kept: a browser does not decode them in a Location, so they stay paths of
// this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || len(next) > 2048 {
		return "/"
	}
	for _, c := range next {
		if c == '\\' || unicode.IsControl(c) || unicode.IsSpace(c) || c == utf8.RuneError {
			return "/"
		}
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}
