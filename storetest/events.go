package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

func listEvents(t *testing.T, s lockbox.Store, f lockbox.EventFilter) []*lockbox.Event {
	t.Helper()
	return read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.Event, error) { return r.ListEvents(ctx, f) })
}

func eventIndexes(evs []*lockbox.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Index
	}
	return out
}

func appendEvents(t *testing.T, s lockbox.Store, evs ...*lockbox.Event) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		for _, e := range evs {
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func testEventRoundTrip(t *testing.T, s lockbox.Store) {
	tenant := lockbox.TenantID(lockbox.NewID("ten"))
	// Data reads back as the leaf holds it: compact and HTML-escaped as
	// encoding/json writes it, key order and number spelling kept (a jsonb
	// column would not do).
	given := json.RawMessage("{\"z\": 1,  \"a\":\"<b>&amp; caf\u00e9 \\u2028\",\n \"n\":[1.50, -0, 1e3]}")
	data := json.RawMessage(`{"z":1,"a":"\u003cb\u003e\u0026amp; café \u2028","n":[1.50,-0,1e3]}`)
	full := newEventAt(tenant, lockbox.EventRequestApproved, at(1))
	full.Data = given
	bare := &lockbox.Event{TenantID: tenant, ID: lockbox.NewID("evt"), Type: lockbox.EventTenantCreated, Time: at(2)}
	appendEvents(t, s, full, bare)

	wantLeaves := [][]byte{full.LeafBytes(), bare.LeafBytes()}
	got := listEvents(t, s, lockbox.EventFilter{TenantID: tenant, After: -1})
	if len(got) != 2 {
		t.Fatalf("ListEvents returned %d events, want 2", len(got))
	}
	wantEqual(t, "event with every field", got[0], full)
	wantEqual(t, "event without optional fields", got[1], bare)
	if !bytes.Equal(got[0].Data, data) {
		t.Fatalf("event data = %q, want it byte for byte: %q", got[0].Data, data)
	}
	if got[1].Data != nil {
		t.Fatalf("event without data reads back with data %q", got[1].Data)
	}
	for i, e := range got {
		if leaf := e.LeafBytes(); !bytes.Equal(leaf, wantLeaves[i]) {
			t.Fatalf("event %d: leaf bytes of the stored event\n%s\ndiffer from the appended event's\n%s", i, leaf, wantLeaves[i])
		}
	}
}

func testEventIndexesPerTenant(t *testing.T, s lockbox.Store) {
	a, b := lockbox.TenantID(lockbox.NewID("ten")), lockbox.TenantID(lockbox.NewID("ten"))
	var evs []*lockbox.Event
	for i, tn := range []lockbox.TenantID{a, b, a, lockbox.SystemLog, a, b} {
		evs = append(evs, newEventAt(tn, lockbox.EventUserCreated, at(i)))
	}
	// Some in one transaction, some in their own.
	appendEvents(t, s, evs[:3]...)
	for _, e := range evs[3:] {
		appendEvents(t, s, e)
	}
	for i, want := range []int64{0, 0, 1, 0, 2, 1} {
		if evs[i].Index != want {
			t.Errorf("event %d of %s got index %d, want %d", i, evs[i].TenantID, evs[i].Index, want)
		}
	}
	for tn, want := range map[lockbox.TenantID][]int64{a: {0, 1, 2}, b: {0, 1}, lockbox.SystemLog: {0}, "ten_none": {}} {
		got := listEvents(t, s, lockbox.EventFilter{TenantID: tn, After: -1})
		wantEqual(t, fmt.Sprintf("indexes of %s", tn), eventIndexes(got), want)
		for _, e := range got {
			if e.TenantID != tn {
				t.Fatalf("ListEvents(%s) returned an event of %s", tn, e.TenantID)
			}
		}
	}
}

func testEventFilters(t *testing.T, s lockbox.Store) {
	// A ticket's events are its own and those of its requests: the
	// requests and tickets exist, as in the service.
	f := newFixture(t, s)
	tn := f.tenant.ID
	tk1 := f.ticket.ID
	second := newTicket(tn, f.admin.ID, at(2))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTicket(ctx, second) })
	tk2 := second.ID
	req1 := f.request(t, s, at(3), func(r *lockbox.AccessRequest) { r.ID = "req_one" }).ID
	req2 := f.request(t, s, at(4), func(r *lockbox.AccessRequest) { r.ID = "req_two"; r.TicketID = tk2 }).ID
	specs := []struct {
		typ lockbox.EventType
		req lockbox.RequestID
		tk  lockbox.TicketID
	}{
		{lockbox.EventTicketCreated, "", tk1},        // 0
		{lockbox.EventRequestCreated, req1, tk1},     // 1
		{lockbox.EventRequestReviewed, req1, tk1},    // 2
		{lockbox.EventTicketCreated, "", tk2},        // 3
		{lockbox.EventRequestCreated, req2, tk2},     // 4
		{lockbox.EventRequestApproved, req1, tk1},    // 5
		{lockbox.EventTicketCommented, "", tk1},      // 6
		{lockbox.EventRequestReviewed, req2, tk2},    // 7
		{lockbox.EventOperatorUserChanged, "", ""},   // 8
		{lockbox.EventRequestCompleted, req1, tk1},   // 9
		{lockbox.EventRequestCreated, "req_x", "tk"}, // 10
	}
	var evs []*lockbox.Event
	for i, sp := range specs {
		e := newEventAt(tn, sp.typ, at(i))
		e.RequestID, e.TicketID = sp.req, sp.tk
		evs = append(evs, e)
	}
	appendEvents(t, s, evs...)
	// Another tenant's events never show up.
	other := newEventAt(lockbox.TenantID(lockbox.NewID("ten")), lockbox.EventRequestCreated, at(0))
	other.RequestID, other.TicketID = req1, tk1
	appendEvents(t, s, other)

	for _, tc := range []struct {
		name string
		f    lockbox.EventFilter
		want []int64
	}{
		{"all", lockbox.EventFilter{After: -1}, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"after 0", lockbox.EventFilter{After: 0}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"after 7", lockbox.EventFilter{After: 7}, []int64{8, 9, 10}},
		{"after the end", lockbox.EventFilter{After: 10}, []int64{}},
		{"limit", lockbox.EventFilter{After: -1, Limit: 4}, []int64{0, 1, 2, 3}},
		{"after and limit", lockbox.EventFilter{After: 4, Limit: 2}, []int64{5, 6}},
		{"type", lockbox.EventFilter{After: -1, Type: lockbox.EventRequestCreated}, []int64{1, 4, 10}},
		{"request", lockbox.EventFilter{After: -1, RequestID: req1}, []int64{1, 2, 5, 9}},
		{"ticket", lockbox.EventFilter{After: -1, TicketID: tk2}, []int64{3, 4, 7}},
		{"ticket after", lockbox.EventFilter{After: 2, TicketID: tk1}, []int64{5, 6, 9}},
		{"request and type", lockbox.EventFilter{After: -1, RequestID: req1, Type: lockbox.EventRequestReviewed}, []int64{2}},
		{"ticket, type and limit", lockbox.EventFilter{After: -1, TicketID: tk1, Type: lockbox.EventRequestCreated, Limit: 1}, []int64{1}},
	} {
		tc.f.TenantID = tn
		got := listEvents(t, s, tc.f)
		wantEqual(t, "events "+tc.name, eventIndexes(got), tc.want)
		for _, e := range got {
			wantEqual(t, "filtered event", e, evs[e.Index])
		}
	}
}

func testConcurrentAppends(t *testing.T, s lockbox.Store) {
	const n = 20
	tn := lockbox.TenantID(lockbox.NewID("ten"))
	var (
		wg       sync.WaitGroup
		errs     = make(chan error, n)
		appended = make(chan string, n)
	)
	for i := range n {
		wg.Go(func() {
			e := lockbox.NewEvent(tn, lockbox.EventUserCreated, "", at(i), map[string]int{"i": i})
			errs <- s.Update(t.Context(), func(tx lockbox.Tx) error { return tx.AppendEvent(t.Context(), e) })
			appended <- e.ID
		})
	}
	wg.Wait()
	close(errs)
	close(appended)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Update: %v (the store must serialise writers, not fail them)", err)
		}
	}
	var want []string
	for id := range appended {
		want = append(want, id)
	}
	got := listEvents(t, s, lockbox.EventFilter{TenantID: tn, After: -1})
	for i, e := range got {
		if e.Index != int64(i) {
			t.Fatalf("indexes after concurrent appends: %v, want 0..%d without gaps", eventIndexes(got), n-1)
		}
	}
	wantEqual(t, "events after concurrent appends", sortedIDs(ids(got, func(e *lockbox.Event) string { return e.ID })...), sortedIDs(want...))
}
