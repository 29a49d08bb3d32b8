package tlog

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Fetcher reads one tenant log from wherever it is served. Verify trusts
// nothing it returns: every answer is checked against the signed checkpoint.
// Implementations must be safe for concurrent use: Verify fetches the next
// page of entries while it checks the current one.
type Fetcher interface {
	// Checkpoint returns the log's latest signed checkpoint, as a note.
	Checkpoint(ctx context.Context) ([]byte, error)
	// Entries returns entries from start, up to end (exclusive). It may
	// return fewer, and returns none past the end of the log.
	Entries(ctx context.Context, start, end uint64) ([]Entry, error)
	// ConsistencyProof returns the proof that the tree of size from is a
	// prefix of the tree of size to, RFC 6962 order.
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
	// InclusionProof returns the audit path of entry index in the tree of
	// size size, RFC 6962 order.
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
}

// HTTPFetcher is a Fetcher for a lockbox server's API (see the package
// documentation for the endpoints and their JSON).
type HTTPFetcher struct {
	// BaseURL is the server's URL, without /v1: "https://lockbox.example.com".
	BaseURL string
	// Token is the API token sent as "Authorization: Bearer <token>".
	Token string
	// Tenant is the id of the tenant whose log to read.
	Tenant string
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
	// PageSize caps the entries asked for per request; 0 means
	// DefaultMaxEntries.
	PageSize int
}

var _ Fetcher = (*HTTPFetcher)(nil)

// NewHTTPFetcher returns a fetcher for a tenant's log on a lockbox server.
func NewHTTPFetcher(baseURL, token, tenant string) *HTTPFetcher {
	return &HTTPFetcher{BaseURL: baseURL, Token: token, Tenant: tenant}
}

// Limits on answers, so a hostile server cannot make the verifier allocate
// without bound.
const (
	maxEntriesBody = 256 << 20
	maxSmallBody   = 1 << 20
)

// HTTPError is a non-200 answer of the server, with the code and message of
// its {"error": {...}} body when it has one.
type HTTPError struct {
	URL     string
	Status  int
	Code    string
	Message string
}

func (e *HTTPError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" {
		msg = e.Code + ": " + msg
	}
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.Status, msg)
}

// Key returns the server's verifier key from GET /v1/log/key. Verifying
// against the key the server itself names proves only that the log is
// consistent with what that server says; pin the key, obtained out of band,
// to learn more.
func (f *HTTPFetcher) Key(ctx context.Context) (string, error) {
	var resp KeyResponse
	if err := f.getJSON(ctx, "/v1/log/key", nil, maxSmallBody, &resp); err != nil {
		return "", err
	}
	return resp.Key, nil
}

// Checkpoint implements Fetcher.
func (f *HTTPFetcher) Checkpoint(ctx context.Context) ([]byte, error) {
	return f.get(ctx, f.logPath("checkpoint"), nil, maxCheckpointSize)
}

// Entries implements Fetcher.
func (f *HTTPFetcher) Entries(ctx context.Context, start, end uint64) ([]Entry, error) {
	page := uint64(f.PageSize)
	if page == 0 {
		page = DefaultMaxEntries
	}
	if end > start+page {
		end = start + page
	}
	body, err := f.get(ctx, f.logPath("entries"), url.Values{
		"start": {strconv.FormatUint(start, 10)},
		"end":   {strconv.FormatUint(end, 10)},
	}, maxEntriesBody)
	if err != nil {
		return nil, err
	}
	entries, err := decodeEntries(body)
	if err != nil {
		return nil, fmt.Errorf("entries [%d, %d) of tenant %s: %w", start, end, f.Tenant, err)
	}
	return entries, nil
}

// decodeEntries decodes an EntriesResponse. It does what json.Unmarshal
// into EntriesResponse does, several times faster (a first verification
// decodes a million entries), with two differences: keys must match exactly
// (encoding/json also takes "Index" or "LEAF"), and a missing or null list
// is an error, because then the server did not answer the question, which
// is not the same as answering that there are no more entries. Events are
// slices of body.
func decodeEntries(body []byte) ([]Entry, error) {
	s := scanner{b: body}
	s.ws()
	if s.i >= len(body) || body[s.i] != '{' {
		return nil, errors.New("malformed entries answer: not a JSON object")
	}
	var (
		entries []Entry
		found   bool
		err     error
	)
	ok := s.object(func(key []byte) bool {
		if !keyIs(key, "entries") {
			return s.value()
		}
		// One pass: each entry is decoded where the scanner finds it.
		entries, found, err = nil, false, nil
		if s.i < len(body) && body[s.i] == 'n' {
			return s.literal("null")
		}
		if s.i >= len(body) || body[s.i] != '[' {
			err = errors.New(`"entries" is not a list`)
			return s.value()
		}
		found = true
		return s.array(func() bool {
			e, ok, eerr := s.entry()
			if eerr != nil && err == nil {
				err = fmt.Errorf("entry %d: %w", len(entries), eerr)
			}
			entries = append(entries, e)
			return ok
		})
	})
	s.ws()
	if !ok || s.i != len(body) {
		return nil, errors.New("malformed entries answer: not valid JSON")
	}
	if err != nil {
		return nil, fmt.Errorf("malformed entries answer: %w", err)
	}
	if !found {
		return nil, errors.New(`malformed entries answer: no "entries" list`)
	}
	if entries == nil {
		entries = []Entry{}
	}
	return entries, nil
}

// entry decodes the value at the scanner as an Entry, as encoding/json
// would: null or absent fields stay zero, a repeated key counts by its last
// value. ok is false when the JSON is invalid; err tells what is wrong
// with valid JSON.
func (s *scanner) entry() (e Entry, ok bool, err error) {
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return e, s.value(), errors.New("not a JSON object")
	}
	// Each field's error is its last value's: a repeated key replaces
	// the earlier value, error included.
	var indexErr, leafErr error
	ok = s.object(s.visitor(func(key, value []byte) {
		switch {
		case keyIs(key, "index"):
			indexErr = nil
			if string(value) == "null" {
				e.Index = 0
				break
			}
			var perr error
			if e.Index, perr = strconv.ParseUint(string(value), 10, 64); perr != nil {
				indexErr = fmt.Errorf("index %s is not a non-negative integer", abbreviate(value))
			}
		case keyIs(key, "leaf"):
			leafErr = nil
			if string(value) == "null" {
				e.Leaf = nil
				break
			}
			var derr error
			if e.Leaf, derr = decodeBase64(value); derr != nil {
				leafErr = fmt.Errorf("leaf: %w", derr)
			}
		case keyIs(key, "event"):
			e.Event = value
		}
	}))
	return e, ok, cmp.Or(indexErr, leafErr)
}

// decodeBase64 decodes a raw JSON string holding standard padded base64, as
// encoding/json decodes a []byte.
func decodeBase64(raw []byte) ([]byte, error) {
	s, ok := raw, len(raw) >= 2 && raw[0] == '"'
	if !ok {
		return nil, errors.New("not a base64 string")
	}
	if bytes.IndexByte(raw, '\\') >= 0 {
		var u string
		if err := json.Unmarshal(raw, &u); err != nil {
			return nil, err
		}
		s = []byte(u)
	} else {
		s = raw[1 : len(raw)-1]
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, s)
	if err != nil {
		return nil, fmt.Errorf("not standard base64: %w", err)
	}
	return out[:n], nil
}

// ConsistencyProof implements Fetcher.
func (f *HTTPFetcher) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	var resp ProofResponse
	err := f.getJSON(ctx, f.logPath("proofs/consistency"), url.Values{
		"from": {strconv.FormatUint(from, 10)},
		"to":   {strconv.FormatUint(to, 10)},
	}, maxSmallBody, &resp)
	return resp.Hashes, err
}

// InclusionProof implements Fetcher.
func (f *HTTPFetcher) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	var resp ProofResponse
	err := f.getJSON(ctx, f.logPath("proofs/inclusion"), url.Values{
		"index": {strconv.FormatUint(index, 10)},
		"size":  {strconv.FormatUint(size, 10)},
	}, maxSmallBody, &resp)
	return resp.Hashes, err
}

func (f *HTTPFetcher) logPath(rest string) string {
	return "/v1/tenants/" + url.PathEscape(f.Tenant) + "/log/" + rest
}

func (f *HTTPFetcher) getJSON(ctx context.Context, path string, q url.Values, limit int64, v any) error {
	body, err := f.get(ctx, path, q, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: malformed answer: %w", path, err)
	}
	return nil
}

func (f *HTTPFetcher) get(ctx context.Context, path string, q url.Values, limit int64) ([]byte, error) {
	u := strings.TrimRight(f.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if f.Token != "" {
		req.Header.Set("Authorization", "Bearer "+f.Token)
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp, limit)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &HTTPError{URL: u, Status: resp.StatusCode}
		var er errorResponse
		if json.Unmarshal(body, &er) == nil {
			e.Code, e.Message = er.Error.Code, er.Error.Message
		}
		return nil, e
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("GET %s: the answer is larger than %d bytes", u, limit)
	}
	return body, nil
}

// readBody reads up to limit+1 bytes of an answer, in one allocation when
// the server announced the length: pages of entries are megabytes.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= limit {
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit+1))
}
