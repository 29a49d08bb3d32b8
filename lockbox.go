// Package lockbox is the domain of a Customer Lockbox: tenants and their
// lockbox settings, users, tickets, access requests with their status machine
// and review engine, and the events that record every change. It defines the
// interfaces the rest of the program implements (Store, Policy) and the use
// cases (Service) that run each change in one transaction with its events.
//
// The root package imports no subpackage: stores, the HTTP API and the CLI
// depend on it, never the other way round.
package lockbox

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Defined ID types, so a tenant ID cannot be passed where a user ID belongs.
type (
	TenantID  string
	UserID    string
	TicketID  string
	RequestID string
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random opaque identifier with a readable prefix, such as
// "req_4f2k…". 80 random bits make collisions irrelevant. IDs are random,
// not time-ordered, on purpose: concurrent transactions then touch different
// index pages, which keeps PostgreSQL's serialisable isolation (whose
// B-tree predicate locks cover pages) from failing transactions that never
// really conflicted.
func NewID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// Duration is a time.Duration that reads and writes Go duration strings in
// JSON ("90m", "8h"), as the API contract requires.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string. Numbers are refused: a bare
// number would be ambiguous between seconds and nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"90m\" or \"8h\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses a Go duration string with a message a user can act on.
func ParseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use a Go duration such as \"90m\" or \"8h\"", s)
	}
	return Duration(v), nil
}

// Clock returns the current time. Services take a Clock so tests can move
// time; the default is SystemClock.
type Clock func() time.Time

// SystemClock is the wall clock in UTC, truncated to microseconds so every
// store keeps times exactly.
func SystemClock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Page asks for one page of a list. Lists are paged with an opaque token that
// the previous page returned.
type Page struct {
	Size  int
	Token string
}

// Paging limits of the API contract.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Normalize applies the default and maximum page sizes.
func (p Page) Normalize() (Page, error) {
	switch {
	case p.Size == 0:
		p.Size = DefaultPageSize
	case p.Size < 0 || p.Size > MaxPageSize:
		return p, Errorf(CodeInvalid, "page_size must be between 1 and %d", MaxPageSize)
	}
	return p, nil
}

// EncodeCursor makes an opaque page token from the sort key of the last item
// of a page (its creation time and ID). Stores share this format.
func EncodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

// DecodeCursor reads a page token made by EncodeCursor.
func DecodeCursor(token string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		if ts, id, ok := strings.Cut(string(b), "|"); ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && id != "" {
				return t, id, nil
			}
		}
	}
	return time.Time{}, "", Errorf(CodeBadRequest, "page_token is not a token this server returned")
}
