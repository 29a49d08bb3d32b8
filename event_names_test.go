package lockbox_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// TestActorNameIsNotInTheLeaf (issue 19, newcomer item 7): the actor's name
// filled on read is no part of the signed log: an event's leaf bytes are
// the same with and without it, and a leaf never yields one.
func TestActorNameIsNotInTheLeaf(t *testing.T) {
	e := lockbox.NewEvent("tnt_1", lockbox.EventRequestCreated, "usr_1", time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC),
		map[string]any{"justification": "look"})
	if err := e.Seal(4); err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(e.Leaf)

	named := *e
	named.ActorName = "Eve Engineer"
	if got := named.LeafBytes(); !bytes.Equal(got, want) {
		t.Errorf("leaf with a name:\n%s\nwant\n%s", got, want)
	}
	if err := named.Seal(4); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(named.Leaf, want) || named.ActorName != "Eve Engineer" {
		t.Errorf("sealed leaf with a name:\n%s\nwant\n%s", named.Leaf, want)
	}
	if bytes.Contains(want, []byte("actor_name")) || bytes.Contains(want, []byte("Eve")) {
		t.Errorf("the leaf holds a name: %s", want)
	}
	forged := []byte(`{"tenant_id":"tnt_1","index":4,"id":"evt_1","type":"x","time":"2027-03-01T09:00:00Z","actor_id":"usr_1","actor_name":"Mallory"}`)
	if got := lockbox.EventFromLeaf("tnt_1", 4, forged); got.ActorName != "" {
		t.Errorf("a leaf named the actor %q", got.ActorName)
	}
}

// TestEventsAndTicketsNameTheirPeople: ListEvents and GetTicket name who
// acted, opened the ticket and commented, for a customer too (who cannot
// read operator users), and the stored leaves stay as appended.
func TestEventsAndTicketsNameTheirPeople(t *testing.T) {
	e := newDomainEnv(t)
	tk, err := e.svc.CreateTicket(e.ctx, e.pwd(e.eng), lockbox.CreateTicketInput{TenantID: e.acme.ID, Title: "Help", Severity: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddComment(e.ctx, e.pwd(e.member), tk.ID, lockbox.CommentInput{Body: "thanks"}); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetTicket(e.ctx, e.pwd(e.admin), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedByName != e.eng.DisplayName || len(got.Comments) != 1 || got.Comments[0].AuthorName != e.member.DisplayName {
		t.Errorf("opened by %q, comments %+v", got.CreatedByName, got.Comments)
	}
	if len(got.History) != 2 || got.History[0].ActorName != e.eng.DisplayName || got.History[1].ActorName != e.member.DisplayName {
		t.Errorf("history actors: %+v", got.History)
	}
	evs, err := e.svc.ListEvents(e.ctx, e.pwd(e.admin), lockbox.EventFilter{TenantID: e.acme.ID, After: -1, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].ActorName != e.eng.DisplayName {
		t.Fatalf("events: %+v", evs)
	}
	for _, ev := range evs {
		if !bytes.Equal(ev.Leaf, ev.LeafBytes()) || bytes.Contains(ev.Leaf, []byte("actor_name")) {
			t.Errorf("event %d: leaf %s, recomputed %s", ev.Index, ev.Leaf, ev.LeafBytes())
		}
	}
}
