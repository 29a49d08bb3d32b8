package app_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox/app"
)

// An open revocation stream must not hold up a graceful shutdown: gateways
// keep one open to every replica at all times.
func TestShutdownEndsRevocationStreams(t *testing.T) {
	srv, err := app.New(context.Background(), app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), BootstrapToken: "boot-token-for-the-stream-test-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	req, _ := http.NewRequest("GET", srv.URL()+"/v1/revocations/stream", nil)
	req.Header.Set("Authorization", "Bearer boot-token-for-the-stream-test-0123456789")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	closed := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
		}
		close(closed)
	}()
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown waited for the open stream")
	}
	<-closed
	t.Logf("shut down in %s with a stream open", time.Since(start))
}
