package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/gateway"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func sampleRecords(n int, prefix string) []gateway.AccessRecord {
	out := make([]gateway.AccessRecord, n)
	for i := range out {
		out[i] = gateway.AccessRecord{
			ID: fmt.Sprintf("%s_%d", prefix, i), Phase: gateway.PhaseDecision, Time: time.Date(2030, 1, 1, 0, 0, i, 0, time.UTC),
			TenantID: "ten_acme", Method: "GET", Path: fmt.Sprintf("/p/%d", i), Decision: gateway.Allowed, Reason: gateway.ReasonGranted,
		}
	}
	return out
}

func ids(recs []gateway.AccessRecord) string {
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.ID + " ")
	}
	return b.String()
}

func openSpool(t *testing.T, dir string) *gateway.Spool {
	t.Helper()
	s, err := gateway.OpenSpool(dir, 0, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir)
	recs := sampleRecords(3, "a")
	if err := s.Append(recs); err != nil {
		t.Fatal(err)
	}
	good := s.Pending()
	s.Close()
	// A crash in the middle of the next batch's write: its first frame
	// made it to disk, its second is torn.
	batch := sampleRecords(2, "b")
	next, _ := gateway.EncodeFrames(nil, batch)
	first, _ := gateway.EncodeFrames(nil, batch[:1])
	f, _ := os.OpenFile(filepath.Join(dir, "spool.log"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write(next[:len(next)-7])
	f.Close()

	s = openSpool(t, dir)
	defer s.Close()
	if want := good + int64(len(first)); s.Pending() != want {
		t.Fatalf("pending %d after recovery, want %d", s.Pending(), want)
	}
	if st, _ := os.Stat(filepath.Join(dir, "spool.log")); st.Size() != s.Pending() {
		t.Errorf("torn bytes left in the file: %d bytes for %d pending", st.Size(), s.Pending())
	}
	recs = append(recs, batch[0])
	got, off, err := s.Next(100)
	if err != nil || !reflect.DeepEqual(got, recs) {
		t.Fatalf("recovered %s (%v), want %s", ids(got), err, ids(recs))
	}
	// Appends continue cleanly after the cut.
	if err := s.Append(sampleRecords(1, "c")); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(off); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.Next(100)
	if ids(got) != "c_0 " {
		t.Errorf("after the cut: %s", ids(got))
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "spool.damaged.*")); len(m) != 0 {
		t.Errorf("a torn tail is routine, not damage: %v", m)
	}
}

func TestSpoolCorruptMiddle(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir)
	s.Append(sampleRecords(1, "a"))
	first := s.Pending()
	s.Append(sampleRecords(3, "b"))
	s.Close()
	b, _ := os.ReadFile(filepath.Join(dir, "spool.log"))
	b[first+20] ^= 0xff // inside the second frame's payload
	os.WriteFile(filepath.Join(dir, "spool.log"), b, 0o600)

	s = openSpool(t, dir)
	defer s.Close()
	got, _, _ := s.Next(100)
	if ids(got) != "a_0 " {
		t.Errorf("kept %s", ids(got))
	}
	m, _ := filepath.Glob(filepath.Join(dir, "spool.damaged.*"))
	if len(m) != 1 {
		t.Fatalf("damaged records not kept aside: %v", m)
	}
	if d, _ := os.ReadFile(m[0]); !bytes.Equal(d, b[first:]) {
		t.Error("the damaged file does not hold the bytes after the damage")
	}
}

func TestSpoolResumesFromOffset(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir)
	s.Append(sampleRecords(5, "a"))
	got, off, _ := s.Next(2)
	if ids(got) != "a_0 a_1 " {
		t.Fatalf("first chunk %s", ids(got))
	}
	if err := s.Advance(off); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openSpool(t, dir)
	got, off, _ = s.Next(10)
	if ids(got) != "a_2 a_3 a_4 " {
		t.Fatalf("after restart %s", ids(got))
	}
	if err := s.Advance(off); err != nil || s.Pending() != 0 {
		t.Fatal(err, s.Pending())
	}
	if st, _ := os.Stat(filepath.Join(dir, "spool.log")); st.Size() != 0 {
		t.Error("log not emptied once shipped")
	}
	s.Close()

	// An offset that is not a frame boundary means shipping from the start
	// (the server deduplicates by id); losing records is not an option.
	s = openSpool(t, dir)
	s.Append(sampleRecords(2, "b"))
	s.Close()
	os.WriteFile(filepath.Join(dir, "spool.offset"), []byte("3\n"), 0o600)
	s = openSpool(t, dir)
	defer s.Close()
	if got, _, _ := s.Next(10); ids(got) != "b_0 b_1 " {
		t.Errorf("bad offset: %s", ids(got))
	}
}

func TestSpoolExclusive(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir)
	defer s.Close()
	if _, err := gateway.OpenSpool(dir, 0, quietLog); err == nil {
		t.Fatal("two gateways opened one spool")
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("spool directory mode %v", st.Mode())
	}
	s.Append(sampleRecords(1, "a"))
	if st, _ := os.Stat(filepath.Join(dir, "spool.log")); st.Mode().Perm() != 0o600 {
		t.Errorf("spool file mode %v", st.Mode())
	}
}

// TestSpoolFileRemoved: a spool file deleted behind the gateway's back is
// noticed (its records are gone, and new ones would be written into a
// fresh file that hides the loss), and the append fails.
func TestSpoolFileRemoved(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir)
	defer s.Close()
	s.Append(sampleRecords(1, "a"))
	os.Remove(filepath.Join(dir, "spool.log"))
	if err := s.Append(sampleRecords(1, "b")); err == nil {
		t.Fatal("append after the spool file vanished succeeded")
	}
}

// TestRecorderDrainsInOrder: the recorder spools while the sink fails and
// ships everything in order when it recovers.
func TestRecorderDrainsInOrder(t *testing.T) {
	sink := &flakySink{}
	sink.fail.Store(true)
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	rec, err := gateway.NewRecorder(gateway.RecorderConfig{Sink: sink, Spool: sp, MaxBatch: 3, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	want := sampleRecords(10, "r")
	for _, r := range want {
		if err := rec.Record(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	sink.fail.Store(false)
	waitFor(t, 5*time.Second, "the drain", func() bool { return rec.Stats().Pending == 0 && len(sink.all()) == 10 })
	if got := sink.all(); ids(got) != ids(want) {
		t.Errorf("shipped %s\nwant    %s", ids(got), ids(want))
	}
}

type flakySink struct {
	memorySink
	fail atomic.Bool
}

func (f *flakySink) Ship(ctx context.Context, recs []gateway.AccessRecord) error {
	if f.fail.Load() {
		return errors.New("server unavailable")
	}
	return f.memorySink.Ship(ctx, recs)
}

// TestFeedForgetsOldRevocations: ended requests are remembered only while a
// token of theirs could still be valid.
func TestFeedForgetsOldRevocations(t *testing.T) {
	now := time.Now()
	items := []gateway.Revocation{
		{RequestID: "req_old", TenantID: "ten_acme", Status: lockbox.StatusRevoked, EndedAt: now.Add(-3 * time.Hour), Cursor: "1"},
		{RequestID: "req_recent", TenantID: "ten_acme", Status: lockbox.StatusCompleted, EndedAt: now.Add(-30 * time.Minute), Cursor: "2"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == gateway.RevocationsStreamPath {
			http.NotFound(w, r)
			return
		}
		page := gateway.RevocationPage{Items: items, Next: "2"}
		if r.URL.Query().Get("after") == "2" {
			page = gateway.RevocationPage{Next: "2"}
		}
		if r.URL.Query().Get("after") == "" && r.URL.Query().Get("since") == "" {
			t.Error("a first sync without since")
		}
		json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	feed, _ := gateway.NewFeed(gateway.FeedConfig{Server: srv.URL, Token: apiToken, MaxTokenTTL: time.Hour, Logger: quietLog})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go feed.Run(ctx)
	waitFor(t, 5*time.Second, "sync", func() bool { return feed.Ready() == nil })
	if _, ok := feed.Ended("req_old"); ok {
		t.Error("remembered a request whose every token expired long ago")
	}
	if r, ok := feed.Ended("req_recent"); !ok || r.Status != lockbox.StatusCompleted {
		t.Error("forgot a request whose tokens may still be valid")
	}
	if feed.Cursor() != "2" {
		t.Errorf("cursor %q", feed.Cursor())
	}
}

// blockingSink holds every shipment until released.
type blockingSink struct {
	memorySink
	release chan struct{}
}

func (b *blockingSink) Ship(ctx context.Context, recs []gateway.AccessRecord) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.memorySink.Ship(ctx, recs)
}

// TestSpoolFirst: with SpoolFirst a record is durable once the spool has
// it, whatever the server does; the spool ships to the server after, in
// order; and without a spool to write, the server must take the record or
// the access is refused.
func TestSpoolFirst(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	dir := t.TempDir()
	sp := openSpool(t, dir)
	rec, err := gateway.NewRecorder(gateway.RecorderConfig{Sink: sink, Spool: sp, SpoolFirst: true, MaxBatch: 4, ShipTimeout: time.Minute, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	want := sampleRecords(10, "s")
	for _, r := range want {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := rec.Record(ctx, r) // the server holds its shipments: only the spool can answer
		cancel()
		if err != nil {
			t.Fatalf("Record with the server stalled: %v", err)
		}
	}
	if st := rec.Stats(); st.Pending == 0 {
		t.Fatal("nothing is pending in the spool while the server stalls")
	}
	close(sink.release)
	waitFor(t, 5*time.Second, "the drain", func() bool { return rec.Stats().Pending == 0 && len(sink.all()) == 10 })
	if got := sink.all(); ids(got) != ids(want) {
		t.Errorf("shipped %s\nwant    %s", ids(got), ids(want))
	}
	rec.Close()
	sp.Close()

	// The spool cannot be written (full: it holds at most 16 bytes) and
	// the server is down: refused.
	down := &flakySink{}
	down.fail.Store(true)
	sp2, err := gateway.OpenSpool(t.TempDir(), 16, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer sp2.Close()
	rec2, err := gateway.NewRecorder(gateway.RecorderConfig{Sink: down, Spool: sp2, SpoolFirst: true, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer rec2.Close()
	if err := rec2.Record(context.Background(), sampleRecords(1, "x")[0]); !errors.Is(err, gateway.ErrCannotRecord) {
		t.Fatalf("spool and server both down: %v, want ErrCannotRecord", err)
	}
	// The server back, the spool still unusable: the record goes to it.
	down.fail.Store(false)
	if err := rec2.Record(context.Background(), sampleRecords(1, "y")[0]); err != nil {
		t.Fatalf("spool down, server up: %v", err)
	}
	if len(down.all()) != 1 {
		t.Fatalf("the server got %d records", len(down.all()))
	}
}
