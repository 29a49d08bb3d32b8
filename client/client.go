// Package client is a typed Go client for the lockbox HTTP API (docs/design.md §4).
//
// Every method takes the request bodies of the root package (lockbox.LoginInput,
// lockbox.CreateRequestInput, …) and returns its domain types, so the server,
// this client and the CLI share one definition of the wire format. A non-2xx
// answer comes back as an *APIError, which matches the root package's
// sentinel errors:
//
//	_, err := c.GetRequest(ctx, id)
//	if errors.Is(err, lockbox.ErrNotFound) { … }
//
// The bearer token never appears in an error message.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/lockbox-dev/lockbox"
)

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "lockbox-go-client/1"

// maxResponseBytes bounds how much of an answer the client reads, so a
// misbehaving server cannot exhaust the caller's memory. The largest
// legitimate answer is a page of 1000 events.
const maxResponseBytes = 64 << 20

// Client calls one lockbox server as one principal. It is safe for
// concurrent use. Use WithToken to act as someone else against the same
// server.
type Client struct {
	base      *url.URL // nil when baseURL was unusable; err says why
	err       error
	token     string
	hc        *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc (for timeouts,
// TLS settings or a test server's client). The default is
// http.DefaultClient; the client relies on contexts for deadlines.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for the server at baseURL (such as
// "http://127.0.0.1:8080", optionally with a path prefix) that authenticates
// with the bearer token. An empty token sends no Authorization header, which
// is what Login and Healthz need. An unusable baseURL is reported by every
// call rather than here, so New can be used in expressions.
func New(baseURL string, token string, opts ...Option) *Client {
	c := &Client{token: token, hc: http.DefaultClient, userAgent: DefaultUserAgent}
	c.base, c.err = parseBaseURL(baseURL)
	for _, o := range opts {
		o(c)
	}
	return c
}

func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("lockbox client: server URL %q is not an http:// or https:// URL", s)
	}
	if u.User != nil {
		return nil, errors.New("lockbox client: the server URL must not carry credentials; use a token")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// WithToken returns a copy of the client that authenticates with token, for
// acting as several principals against one server.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// BaseURL returns the server URL the client calls, or "" when it is unusable.
func (c *Client) BaseURL() string {
	if c.base == nil {
		return ""
	}
	return c.base.String()
}

// String describes the client without its token, so printing a Client
// cannot leak the secret.
func (c *Client) String() string { return "lockbox client for " + c.BaseURL() }

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// Do sends one API request and decodes a JSON answer into out. in, when not
// nil, is sent as the JSON body; out, when nil, means the answer's body is
// ignored. path is the API path with every variable segment already escaped
// (see PathEscape). It returns the HTTP status of a successful answer; an
// unsuccessful one is an *APIError.
//
// The typed methods cover the whole API; Do is for endpoints this client does
// not know yet.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	u := c.base.String() + path // path is escaped already
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	what := method + " " + path // for error messages: no host, no token

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("%s: encoding the request body: %w", what, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error repeats the full URL; say it once, without a token
		// (the token is only ever in a header).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s: reading the answer: %w", what, err)
	}
	if len(raw) > maxResponseBytes {
		return resp.StatusCode, fmt.Errorf("%s: the answer is larger than %d bytes", what, maxResponseBytes)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, c.apiError(resp, raw)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, nil
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return resp.StatusCode, fmt.Errorf("%s: the server answered %d with %s, not JSON (is %s a lockbox server?)%s",
			what, resp.StatusCode, contentTypeName(resp.Header.Get("Content-Type")), c.BaseURL(), c.snippet(raw))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s: decoding the answer: %w", what, err)
	}
	return resp.StatusCode, nil
}

// apiError turns a non-2xx answer into an *APIError. A JSON error body
// supplies code, message and details; anything else (a proxy's HTML page)
// keeps the status and says what came back.
func (c *Client) apiError(resp *http.Response, raw []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, Code: codeForStatus(resp.StatusCode)}
	// lockbox.ErrorBody with a pointer, to tell a missing "error" apart.
	var eb struct {
		Error *lockbox.ErrorDetail `json:"error"`
	}
	if isJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(raw, &eb) == nil && eb.Error != nil {
		if eb.Error.Code != "" {
			e.Code = eb.Error.Code // unknown codes are kept as sent
		}
		e.Message = c.redact(eb.Error.Message)
		for _, d := range eb.Error.Details {
			e.Details = append(e.Details, c.redact(d))
		}
		if e.Message == "" {
			e.Message = strings.ToLower(http.StatusText(resp.StatusCode))
		}
		return e
	}
	e.Message = fmt.Sprintf("the server answered with %s, not a lockbox error (is %s a lockbox server?)%s",
		contentTypeName(resp.Header.Get("Content-Type")), c.BaseURL(), c.snippet(raw))
	return e
}

// snippet quotes the start of a non-JSON answer for an error message, with
// the token removed should the server have echoed it.
func (c *Client) snippet(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return ""
	}
	const max = 200
	if len(s) > max {
		s = s[:max] + "…"
	}
	return ": " + fmt.Sprintf("%q", c.redact(s))
}

// redact removes the client's token from text that came from the server.
func (c *Client) redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[REDACTED]")
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func contentTypeName(ct string) string {
	if ct == "" {
		return "no Content-Type"
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return fmt.Sprintf("%q", ct)
}

// PathEscape escapes one path segment, such as an ID, for Do.
func PathEscape(segment string) string { return url.PathEscape(segment) }

// pathf builds an API path from a format whose %s verbs are ID segments. It
// refuses empty IDs: "/v1/tenants/" + "" would name the list, not a tenant.
func pathf(format string, ids ...string) (string, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		if id == "" {
			return "", fmt.Errorf("lockbox client: %s needs a non-empty ID", strings.ReplaceAll(format, "%s", "{id}"))
		}
		args[i] = url.PathEscape(id)
	}
	return fmt.Sprintf(format, args...), nil
}

// get, post, patch and del are Do for the common shapes.

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	_, err := c.Do(ctx, http.MethodGet, path, q, nil, out)
	return err
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	if in == nil {
		in = struct{}{} // actions without a body send {}
	}
	_, err := c.Do(ctx, http.MethodPost, path, nil, in, out)
	return err
}

func (c *Client) patch(ctx context.Context, path string, in, out any) error {
	_, err := c.Do(ctx, http.MethodPatch, path, nil, in, out)
	return err
}

// getID, postID and patchID build the path from IDs first.

func getID[T any](ctx context.Context, c *Client, q url.Values, format string, ids ...string) (*T, error) {
	p, err := pathf(format, ids...)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := c.get(ctx, p, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

func postID[T any](ctx context.Context, c *Client, in any, format string, ids ...string) (*T, error) {
	p, err := pathf(format, ids...)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := c.post(ctx, p, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func patchID[T any](ctx context.Context, c *Client, in any, format string, ids ...string) (*T, error) {
	p, err := pathf(format, ids...)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := c.patch(ctx, p, in, out); err != nil {
		return nil, err
	}
	return out, nil
}
