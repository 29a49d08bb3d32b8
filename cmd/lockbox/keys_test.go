package main

import (
	"context"
	"strings"
	"testing"

	"github.com/lockbox-dev/lockbox/app"
)

func TestKeysRotate(t *testing.T) {
	dir := t.TempDir()
	open := func() *app.Server {
		t.Helper()
		srv, err := app.New(context.Background(), app.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	srv := open()
	before := srv.Keyring().Active().ID
	srv.Close()

	h := newHarness(t)
	out := h.ok("keys", "rotate", "--data-dir", dir)
	if !strings.Contains(out, "rotated") || strings.Contains(out, before) {
		t.Fatalf("keys rotate printed %q (old key %s)", out, before)
	}
	srv = open()
	defer srv.Close()
	ring := srv.Keyring()
	after := ring.Active().ID
	if after == before || !strings.Contains(out, after) {
		t.Fatalf("active key %s after rotating from %s (printed %q)", after, before, out)
	}
	published := false
	for _, k := range ring.JWKS().Keys {
		published = published || k.Kid == before
	}
	if !published {
		t.Fatal("the retired key left the JWKS while its tokens may still be valid")
	}
	// Without a database it fails clearly.
	if r := h.run("keys", "rotate", "--data-dir", ""); r.code == 0 {
		t.Fatal("keys rotate without a database succeeded")
	}
}
