package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// getSecret reads a secret that must exist.
func getSecret(t *testing.T, s lockbox.Store, name string) ([]byte, int64) {
	t.Helper()
	v, version, err := s.GetSecret(t.Context(), name)
	if err != nil {
		t.Fatalf("GetSecret(%s): %v", name, err)
	}
	return v, version
}

// wantSecret checks a secret's stored value and version.
func wantSecret(t *testing.T, what string, s lockbox.Store, name string, value []byte, version int64) {
	t.Helper()
	v, n := getSecret(t, s, name)
	if !bytes.Equal(v, value) || n != version {
		t.Fatalf("%s: secret %s = %q version %d, want %q version %d", what, name, v, n, value, version)
	}
}

// testSecrets checks the compare-and-set of PutSecret and that values come
// back byte for byte.
func testSecrets(t *testing.T, s lockbox.Store) {
	ctx := t.Context()
	name, other := lockbox.NewID("sec"), lockbox.NewID("sec")
	_, _, err := s.GetSecret(ctx, name)
	wantNotFound(t, "GetSecret of a secret never stored", err, name)

	v1 := []byte("\x00\xff\x80 key one\n")
	if err := s.PutSecret(ctx, name, v1, 0); err != nil {
		t.Fatalf("create: %v", err)
	}
	wantSecret(t, "after create", s, name, v1, 1)

	v2 := bytes.Repeat([]byte{0xab, 0x00}, 4096)
	if err := s.PutSecret(ctx, name, v2, 1); err != nil {
		t.Fatalf("update from version 1: %v", err)
	}
	want2 := bytes.Clone(v2)
	v2[0] = 0 // the store keeps its own copy
	wantSecret(t, "after update", s, name, want2, 2)

	for _, tc := range []struct {
		what    string
		version int64
	}{
		{"update from a stale version", 1},
		{"update from a version never stored", 3},
		{"second create", 0},
	} {
		err := s.PutSecret(ctx, name, []byte("loser"), tc.version)
		wantCode(t, tc.what, err, lockbox.CodeConflict)
		if !errors.Is(err, lockbox.ErrConflict) {
			t.Fatalf("%s: %v does not match ErrConflict", tc.what, err)
		}
		wantSecret(t, "after a refused "+tc.what, s, name, want2, 2)
	}

	// Updating a secret that does not exist is a conflict too, and
	// creates nothing.
	wantCode(t, "update of a missing secret", s.PutSecret(ctx, other, []byte("x"), 1), lockbox.CodeConflict)
	_, _, err = s.GetSecret(ctx, other)
	wantNotFound(t, "a secret whose update was refused", err, other)

	// An empty value is a value; secrets are independent.
	if err := s.PutSecret(ctx, other, nil, 0); err != nil {
		t.Fatalf("create an empty secret: %v", err)
	}
	wantSecret(t, "empty secret", s, other, []byte{}, 1)
	wantSecret(t, "the first secret after creating another", s, name, want2, 2)

	wantCode(t, "a secret without a name", s.PutSecret(ctx, "", []byte("x"), 0), lockbox.CodeInvalid)
	wantCode(t, "a negative version", s.PutSecret(ctx, name, []byte("x"), -1), lockbox.CodeInvalid)
}

// testSharedSecrets races the two stores to create, then to update, the
// same secret: exactly one wins each race, the other gets ErrConflict, and
// both then read the winner's value.
func testSharedSecrets(t *testing.T, a, b lockbox.Store) {
	stores := []lockbox.Store{a, b}
	for round := range 5 {
		name := fmt.Sprintf("storetest-race-%d", round)
		for version := range int64(2) {
			var (
				start = make(chan struct{})
				wg    sync.WaitGroup
				errs  [2]error
			)
			for i, s := range stores {
				wg.Go(func() {
					<-start
					errs[i] = s.PutSecret(t.Context(), name, []byte{byte(i), byte(version)}, version)
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Fatalf("round %d: both stores' PutSecret from version %d succeeded", round, version)
					}
					winner = i
				case !errors.Is(err, lockbox.ErrConflict):
					t.Fatalf("round %d: the losing PutSecret from version %d failed with %q, want a conflict", round, version, err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: both PutSecret from version %d failed: %v", round, version, errs)
			}
			for _, s := range stores {
				wantSecret(t, fmt.Sprintf("round %d, after the race from version %d", round, version),
					s, name, []byte{byte(winner), byte(version)}, version+1)
			}
		}
	}
}
