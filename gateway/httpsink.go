package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// AccessEventsPath is the server endpoint that takes access records.
const AccessEventsPath = "/v1/access-events"

// AccessEventsRequest is the body of POST /v1/access-events.
type AccessEventsRequest struct {
	Records []AccessRecord `json:"records"`
}

// AccessEventsResponse is the server's 200 answer: the number of records of
// the request that are now in the tenant logs, counting ids it already had.
// Anything but 200 with recorded == len(records) is a failure, and the
// gateway ships the whole batch again later.
type AccessEventsResponse struct {
	Recorded int `json:"recorded"`
}

// HTTPSink ships records to a lockbox server: POST <server>/v1/access-events
// with the gateway's API token (a user holding the gateway role), body
// {"records":[…]}. See the package documentation for the exact contract.
type HTTPSink struct {
	url    string
	token  string
	client *http.Client
}

var _ Sink = (*HTTPSink)(nil)

// NewHTTPSink returns a sink for the server at serverURL. client nil means a
// client with a 10 s timeout (the Recorder's ShipTimeout usually cuts
// earlier).
func NewHTTPSink(serverURL, token string, client *http.Client) (*HTTPSink, error) {
	if !strings.HasPrefix(serverURL, "http://") && !strings.HasPrefix(serverURL, "https://") {
		return nil, fmt.Errorf("gateway: server URL %q is not an http(s) URL", serverURL)
	}
	if token == "" {
		return nil, fmt.Errorf("gateway: an API token is required to record accesses")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &HTTPSink{url: strings.TrimRight(serverURL, "/") + AccessEventsPath, token: token, client: client}, nil
}

// Ship posts records and returns nil only on 200 {"recorded": len(records)}.
func (s *HTTPSink) Ship(ctx context.Context, records []AccessRecord) error {
	body, err := json.Marshal(AccessEventsRequest{Records: records})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting access records: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("posting access records: server answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var out AccessEventsResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("posting access records: unreadable answer: %w", err)
	}
	if out.Recorded != len(records) {
		return fmt.Errorf("posting access records: server recorded %d of %d", out.Recorded, len(records))
	}
	return nil
}
