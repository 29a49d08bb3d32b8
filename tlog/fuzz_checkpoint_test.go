package tlog_test

import (
	"bytes"
	"testing"

	"github.com/lockbox-dev/lockbox/tlog"
	"golang.org/x/mod/sumdb/note"
)

// FuzzOpenCheckpoint: whatever a server sends, OpenCheckpoint does not
// panic, and what it accepts is exactly a checkpoint the trusted key signed:
// its body re-formats to the signed text byte for byte.
func FuzzOpenCheckpoint(f *testing.F) {
	signer := mustSigner(f, testSKey)
	for _, size := range []uint64{0, 1, 42, 1 << 40} {
		msg, err := tlog.SignCheckpoint(signer, testOrigin, tlog.Head{Size: size, Root: root("seed")})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	// More seeds live in testdata/fuzz/FuzzOpenCheckpoint.
	verifier := mustVerifier(f, testVKey)
	f.Fuzz(func(t *testing.T, msg []byte) {
		cp, err := tlog.OpenCheckpoint(msg, verifier, testOrigin)
		if err != nil {
			return
		}
		if cp.Origin != testOrigin || len(cp.Root) != 32 || !bytes.Equal(cp.Note, msg) {
			t.Fatalf("accepted %q as %+v", msg, cp)
		}
		n, err := note.Open(msg, note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("accepted a note that does not open: %v", err)
		}
		again, err := tlog.SignCheckpoint(signer, cp.Origin, tlog.Head{Size: cp.Size, Root: cp.Root})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(again, []byte(n.Text+"\n")) {
			t.Fatalf("accepted body %q, which re-formats as %q", n.Text, again)
		}
	})
}
