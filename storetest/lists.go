package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// listFunc lists one page of some entity.
type listFunc[T any] func(ctx context.Context, r lockbox.Reader, p lockbox.Page) ([]T, string, error)

// paginate reads every page of the list.
func paginate[T any](t *testing.T, s lockbox.Store, size int, list listFunc[T]) [][]T {
	t.Helper()
	var pages [][]T
	token := ""
	for {
		var (
			items []T
			next  string
		)
		view(t, s, func(ctx context.Context, r lockbox.Reader) error {
			var err error
			items, next, err = list(ctx, r, lockbox.Page{Size: size, Token: token})
			return err
		})
		pages = append(pages, items)
		if next == "" {
			return pages
		}
		if len(pages) > 100 {
			t.Fatalf("list pages do not end")
		}
		token = next
	}
}

// createdTimes are the creation times of the seven items each pagination
// test lists: some equal, so that the ID orders them, and not in order.
var createdTimes = []time.Time{at(3), at(1), at(5), at(2), at(5), at(4), at(2)}

// checkPaging lists items at several page sizes and checks the pages:
// newest first by (created_at, id), every item once, the sizes asked for,
// and no next token on the last page.
func checkPaging[T any](t *testing.T, s lockbox.Store, items []T, key func(T) (time.Time, string), list listFunc[T]) {
	t.Helper()
	want := slices.Clone(items)
	slices.SortFunc(want, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return cmp.Compare(ib, ia)
	})
	wantIDs := make([]string, len(want))
	for i, v := range want {
		_, wantIDs[i] = key(v)
	}
	for _, tc := range []struct {
		size  int
		sizes []int
	}{
		{3, []int{3, 3, 1}},
		{7, []int{7}},
		{6, []int{6, 1}},
		{1, []int{1, 1, 1, 1, 1, 1, 1}},
		{0, []int{7}}, // the default size
	} {
		pages := paginate(t, s, tc.size, list)
		var sizes []int
		var gotIDs []string
		for _, p := range pages {
			sizes = append(sizes, len(p))
			for _, v := range p {
				_, id := key(v)
				gotIDs = append(gotIDs, id)
			}
		}
		wantEqual(t, fmt.Sprintf("page sizes at size %d", tc.size), sizes, tc.sizes)
		wantEqual(t, fmt.Sprintf("items, newest first, at size %d", tc.size), gotIDs, wantIDs)
	}
}

func testPaginateTenants(t *testing.T, s lockbox.Store) {
	var items []*lockbox.Tenant
	for i, c := range createdTimes {
		tn := newTenant(fmt.Sprintf("t%d", i), c)
		items = append(items, tn)
		update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTenant(ctx, tn) })
	}
	checkPaging(t, s, items,
		func(v *lockbox.Tenant) (time.Time, string) { return v.CreatedAt, string(v.ID) },
		func(ctx context.Context, r lockbox.Reader, p lockbox.Page) ([]*lockbox.Tenant, string, error) {
			return r.ListTenants(ctx, lockbox.TenantFilter{Page: p})
		})
}

func testPaginateUsers(t *testing.T, s lockbox.Store) {
	var items []*lockbox.User
	for i, c := range createdTimes {
		u := newOperator(fmt.Sprintf("u%d", i), c)
		items = append(items, u)
		update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateUser(ctx, u) })
	}
	checkPaging(t, s, items,
		func(v *lockbox.User) (time.Time, string) { return v.CreatedAt, string(v.ID) },
		func(ctx context.Context, r lockbox.Reader, p lockbox.Page) ([]*lockbox.User, string, error) {
			return r.ListUsers(ctx, lockbox.UserFilter{Page: p})
		})
}

func testPaginateTickets(t *testing.T, s lockbox.Store) {
	tn := newTenant("acme", at(0))
	u := newCustomer(tn.ID, "ada", at(0))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		return tx.CreateUser(ctx, u)
	})
	var items []*lockbox.Ticket
	for _, c := range createdTimes {
		tk := newTicket(tn.ID, u.ID, c)
		items = append(items, tk)
		update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTicket(ctx, tk) })
	}
	checkPaging(t, s, items,
		func(v *lockbox.Ticket) (time.Time, string) { return v.CreatedAt, string(v.ID) },
		func(ctx context.Context, r lockbox.Reader, p lockbox.Page) ([]*lockbox.Ticket, string, error) {
			return r.ListTickets(ctx, lockbox.TicketFilter{Page: p})
		})
}

func testPaginateRequests(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	var items []*lockbox.AccessRequest
	for i, c := range createdTimes {
		items = append(items, f.request(t, s, c, func(r *lockbox.AccessRequest) {
			r.Reviews = []lockbox.Review{{ReviewerID: f.lead.ID, Stage: lockbox.StageInternal,
				Decision: lockbox.DecisionApprove, Reason: fmt.Sprint(i), CreatedAt: c}}
		}))
	}
	checkPaging(t, s, items,
		func(v *lockbox.AccessRequest) (time.Time, string) { return v.CreatedAt, string(v.ID) },
		func(ctx context.Context, r lockbox.Reader, p lockbox.Page) ([]*lockbox.AccessRequest, string, error) {
			return r.ListRequests(ctx, lockbox.RequestFilter{Page: p})
		})
	// Every request of a page comes with its own reviews.
	pages := paginate(t, s, 3, func(ctx context.Context, r lockbox.Reader, p lockbox.Page) ([]*lockbox.AccessRequest, string, error) {
		return r.ListRequests(ctx, lockbox.RequestFilter{Page: p})
	})
	for _, p := range pages {
		for _, got := range p {
			i := slices.IndexFunc(items, func(r *lockbox.AccessRequest) bool { return r.ID == got.ID })
			wantEqual(t, "listed request", got, items[i])
		}
	}
}

func testPageErrors(t *testing.T, s lockbox.Store) {
	lists := map[string]func(ctx context.Context, r lockbox.Reader, p lockbox.Page) error{
		"ListTenants": func(ctx context.Context, r lockbox.Reader, p lockbox.Page) error {
			_, _, err := r.ListTenants(ctx, lockbox.TenantFilter{Page: p})
			return err
		},
		"ListUsers": func(ctx context.Context, r lockbox.Reader, p lockbox.Page) error {
			_, _, err := r.ListUsers(ctx, lockbox.UserFilter{Page: p})
			return err
		},
		"ListTickets": func(ctx context.Context, r lockbox.Reader, p lockbox.Page) error {
			_, _, err := r.ListTickets(ctx, lockbox.TicketFilter{Page: p})
			return err
		},
		"ListRequests": func(ctx context.Context, r lockbox.Reader, p lockbox.Page) error {
			_, _, err := r.ListRequests(ctx, lockbox.RequestFilter{Page: p})
			return err
		},
	}
	for name, list := range lists {
		for _, tc := range []struct {
			page lockbox.Page
			code lockbox.ErrorCode
		}{
			{lockbox.Page{Size: 3, Token: "garbage!"}, lockbox.CodeBadRequest},
			{lockbox.Page{Size: 3, Token: "Z2FyYmFnZQ"}, lockbox.CodeBadRequest}, // base64 of "garbage"
			{lockbox.Page{Size: -1}, lockbox.CodeInvalid},
			{lockbox.Page{Size: lockbox.MaxPageSize + 1}, lockbox.CodeInvalid},
		} {
			err := readErr(t, s, func(ctx context.Context, r lockbox.Reader) error { return list(ctx, r, tc.page) })
			wantCode(t, fmt.Sprintf("%s with %+v", name, tc.page), err, tc.code)
		}
	}
}

func testTenantFilter(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	for _, tc := range []struct {
		id   lockbox.TenantID
		want []string
	}{
		{f.tenant.ID, []string{string(f.tenant.ID)}},
		{f.other.ID, []string{string(f.other.ID)}},
		{"ten_unknown", nil},
		{"", sortedIDs(f.tenant.ID, f.other.ID)},
	} {
		got := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.Tenant, error) {
			l, _, err := r.ListTenants(ctx, lockbox.TenantFilter{ID: tc.id})
			return l, err
		})
		wantEqual(t, fmt.Sprintf("tenants with ID %q", tc.id),
			sortedIDs(ids(got, func(v *lockbox.Tenant) lockbox.TenantID { return v.ID })...), tc.want)
	}
}

func testUserFilter(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	otherCustomer := newCustomer(f.other.ID, "oscar", at(3))
	removedCustomer := newCustomer(f.tenant.ID, "rex", at(3))
	removedCustomer.DeletedAt = ptr(at(4))
	removedOperator := newOperator("ron", at(3))
	removedOperator.DeletedAt = ptr(at(4))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		for _, u := range []*lockbox.User{otherCustomer, removedCustomer, removedOperator} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		name string
		f    lockbox.UserFilter
		want []string
	}{
		{"all active", lockbox.UserFilter{}, sortedIDs(f.engineer.ID, f.lead.ID, f.admin.ID, f.approver.ID, otherCustomer.ID)},
		{"operators", lockbox.UserFilter{Kind: lockbox.KindOperator}, sortedIDs(f.engineer.ID, f.lead.ID)},
		{"customers", lockbox.UserFilter{Kind: lockbox.KindCustomer}, sortedIDs(f.admin.ID, f.approver.ID, otherCustomer.ID)},
		{"tenant", lockbox.UserFilter{TenantID: f.tenant.ID}, sortedIDs(f.admin.ID, f.approver.ID)},
		{"other tenant", lockbox.UserFilter{TenantID: f.other.ID, Kind: lockbox.KindCustomer}, sortedIDs(otherCustomer.ID)},
		{"operators of a tenant", lockbox.UserFilter{TenantID: f.tenant.ID, Kind: lockbox.KindOperator}, nil},
		{"with removed", lockbox.UserFilter{WithRemoved: true}, sortedIDs(f.engineer.ID, f.lead.ID, f.admin.ID, f.approver.ID, otherCustomer.ID, removedCustomer.ID, removedOperator.ID)},
		{"removed operators too", lockbox.UserFilter{WithRemoved: true, Kind: lockbox.KindOperator}, sortedIDs(f.engineer.ID, f.lead.ID, removedOperator.ID)},
	} {
		got := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.User, error) {
			l, _, err := r.ListUsers(ctx, tc.f)
			return l, err
		})
		wantEqual(t, "users: "+tc.name, sortedIDs(ids(got, func(v *lockbox.User) lockbox.UserID { return v.ID })...), tc.want)
	}
}

func testTicketFilter(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	resolved := newTicket(f.tenant.ID, f.admin.ID, at(3))
	resolved.Status = lockbox.TicketResolved
	resolved.ResolvedAt = ptr(at(4))
	elsewhere := newTicket(f.other.ID, f.engineer.ID, at(3))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.CreateTicket(ctx, resolved); err != nil {
			return err
		}
		return tx.CreateTicket(ctx, elsewhere)
	})
	for _, tc := range []struct {
		name string
		f    lockbox.TicketFilter
		want []string
	}{
		{"all", lockbox.TicketFilter{}, sortedIDs(f.ticket.ID, resolved.ID, elsewhere.ID)},
		{"tenant", lockbox.TicketFilter{TenantID: f.tenant.ID}, sortedIDs(f.ticket.ID, resolved.ID)},
		{"open", lockbox.TicketFilter{Status: lockbox.TicketOpen}, sortedIDs(f.ticket.ID, elsewhere.ID)},
		{"tenant and resolved", lockbox.TicketFilter{TenantID: f.tenant.ID, Status: lockbox.TicketResolved}, sortedIDs(resolved.ID)},
		{"other tenant resolved", lockbox.TicketFilter{TenantID: f.other.ID, Status: lockbox.TicketResolved}, nil},
	} {
		got := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.Ticket, error) {
			l, _, err := r.ListTickets(ctx, tc.f)
			return l, err
		})
		wantEqual(t, "tickets: "+tc.name, sortedIDs(ids(got, func(v *lockbox.Ticket) lockbox.TicketID { return v.ID })...), tc.want)
	}
}

func testRequestFilter(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	ticket2 := newTicket(f.tenant.ID, f.admin.ID, at(3))
	elsewhere := newTicket(f.other.ID, f.engineer.ID, at(3))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.CreateTicket(ctx, ticket2); err != nil {
			return err
		}
		return tx.CreateTicket(ctx, elsewhere)
	})
	r1 := f.request(t, s, at(4), nil)
	r2 := f.request(t, s, at(5), func(r *lockbox.AccessRequest) { r.Status = lockbox.StatusApproved })
	r3 := f.request(t, s, at(6), func(r *lockbox.AccessRequest) {
		r.TicketID = ticket2.ID
		r.RequesterID = f.lead.ID
	})
	r4 := f.request(t, s, at(7), func(r *lockbox.AccessRequest) {
		r.TenantID, r.TicketID = f.other.ID, elsewhere.ID
		r.Status = lockbox.StatusApproved
	})
	for _, tc := range []struct {
		name string
		f    lockbox.RequestFilter
		want []string
	}{
		{"all", lockbox.RequestFilter{}, sortedIDs(r1.ID, r2.ID, r3.ID, r4.ID)},
		{"tenant", lockbox.RequestFilter{TenantID: f.tenant.ID}, sortedIDs(r1.ID, r2.ID, r3.ID)},
		{"ticket", lockbox.RequestFilter{TicketID: f.ticket.ID}, sortedIDs(r1.ID, r2.ID)},
		{"requester", lockbox.RequestFilter{RequesterID: f.lead.ID}, sortedIDs(r3.ID)},
		{"status", lockbox.RequestFilter{Status: lockbox.StatusApproved}, sortedIDs(r2.ID, r4.ID)},
		{"tenant and status", lockbox.RequestFilter{TenantID: f.tenant.ID, Status: lockbox.StatusApproved}, sortedIDs(r2.ID)},
		{"every filter", lockbox.RequestFilter{TenantID: f.tenant.ID, TicketID: f.ticket.ID,
			RequesterID: f.engineer.ID, Status: lockbox.StatusPendingInternal}, sortedIDs(r1.ID)},
		{"no match", lockbox.RequestFilter{TenantID: f.other.ID, Status: lockbox.StatusDenied}, nil},
	} {
		got := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.AccessRequest, error) {
			l, _, err := r.ListRequests(ctx, tc.f)
			return l, err
		})
		wantEqual(t, "requests: "+tc.name, sortedIDs(ids(got, func(v *lockbox.AccessRequest) lockbox.RequestID { return v.ID })...), tc.want)
	}

	// Page tokens keep the filter.
	pages := paginate(t, s, 1, func(ctx context.Context, r lockbox.Reader, p lockbox.Page) ([]*lockbox.AccessRequest, string, error) {
		return r.ListRequests(ctx, lockbox.RequestFilter{TenantID: f.tenant.ID, Page: p})
	})
	var got []string
	for _, p := range pages {
		got = append(got, ids(p, func(v *lockbox.AccessRequest) lockbox.RequestID { return v.ID })...)
	}
	wantEqual(t, "paged requests of a tenant", got, []string{string(r3.ID), string(r2.ID), string(r1.ID)})
}
