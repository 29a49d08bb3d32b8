package client

import (
	"context"
	"errors"
	"iter"
	"net/url"
	"strconv"

	"github.com/lockbox-dev/lockbox"
)

// pageQuery adds page_size and page_token to q (allocating it if nil).
func pageQuery(q url.Values, p lockbox.Page) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if p.Size != 0 {
		q.Set("page_size", strconv.Itoa(p.Size))
	}
	if p.Token != "" {
		q.Set("page_token", p.Token)
	}
	return q
}

// setIf sets key in q when v is not empty.
func setIf[S ~string](q url.Values, key string, v S) {
	if v != "" {
		q.Set(key, string(v))
	}
}

// All iterates over every item of a paged list, starting at page and
// fetching further pages until the server returns no next_page_token. list
// fetches one page, typically a closure over a List method and its filter:
//
//	for r, err := range client.All(ctx, lockbox.Page{}, func(ctx context.Context, p lockbox.Page) (*lockbox.List[*lockbox.AccessRequest], error) {
//		f.Page = p
//		return c.ListRequests(ctx, f)
//	}) { … }
//
// An error ends the iteration after being yielded once.
func All[T any](ctx context.Context, page lockbox.Page, list func(context.Context, lockbox.Page) (*lockbox.List[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := map[string]bool{}
		for {
			l, err := list(ctx, page)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range l.Items {
				if !yield(it, nil) {
					return
				}
			}
			if l.NextPageToken == "" {
				return
			}
			if seen[l.NextPageToken] {
				yield(zero, errors.New("lockbox client: the server returned a page token it had returned before; stopping to avoid a loop"))
				return
			}
			seen[l.NextPageToken] = true
			page.Token = l.NextPageToken
		}
	}
}
