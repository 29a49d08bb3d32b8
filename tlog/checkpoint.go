package tlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// ErrBadCheckpoint is matched by every error about a checkpoint that cannot
// be trusted: malformed, signed by another key, badly signed, or for another
// log.
var ErrBadCheckpoint = errors.New("bad checkpoint")

// Checkpoint is a parsed, signature-checked C2SP tlog-checkpoint.
type Checkpoint struct {
	// Origin names the log: "<log origin>/tenants/<tenant id>".
	Origin string
	// Size is the number of leaves in the tree.
	Size uint64
	// Root is the RFC 6962 root of the tree of Size leaves.
	Root []byte
	// Note is the signed note as received, to keep as evidence.
	Note []byte
}

// tenantsPath joins a log origin and a tenant id into a checkpoint origin.
const tenantsPath = "/tenants/"

// CheckpointOrigin returns the origin line of a tenant's checkpoints:
// "<log origin>/tenants/<tenant id>". Tenant ids are opaque but contain no
// space or '+' (lockbox mints them), so the result is a valid origin.
func CheckpointOrigin(logOrigin, tenant string) string {
	return logOrigin + tenantsPath + tenant
}

// SplitCheckpointOrigin undoes CheckpointOrigin, splitting at the last
// "/tenants/".
func SplitCheckpointOrigin(origin string) (logOrigin, tenant string, ok bool) {
	i := strings.LastIndex(origin, tenantsPath)
	if i < 0 || i+len(tenantsPath) == len(origin) {
		return "", "", false
	}
	return origin[:i], origin[i+len(tenantsPath):], true
}

// LogOrigin derives the default log origin from the server's public URL, as
// C2SP recommends: a schema-less URL, "https://lockbox.example.com/" giving
// "lockbox.example.com". It is also the name of the log's signing key.
func LogOrigin(publicURL string) (string, error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return "", fmt.Errorf("tlog: log origin from %q: %w", publicURL, err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("tlog: log origin from %q: the URL has no host", publicURL)
	}
	origin := u.Host + strings.TrimRight(u.EscapedPath(), "/")
	if err := checkOrigin(origin); err != nil {
		return "", err
	}
	return origin, nil
}

// checkOrigin refuses what a note key name or a checkpoint's first line
// cannot hold.
func checkOrigin(origin string) error {
	if origin == "" || !utf8.ValidString(origin) || strings.ContainsFunc(origin, func(r rune) bool {
		return unicode.IsSpace(r) || r == '+' || unicode.IsControl(r)
	}) {
		return fmt.Errorf("invalid origin %q: it must be non-empty UTF-8 without spaces, control characters or '+'", origin)
	}
	return nil
}

// GenerateKey returns a new Ed25519 signing key for a log and its verifier
// key, in the note encodings: skey is "PRIVATE+KEY+<name>+<hash>+<key>" and
// must stay secret; vkey is "<name>+<hash>+<key>", what GET /v1/log/key
// serves and verifiers pin. name is the log origin (see LogOrigin).
func GenerateKey(name string) (skey, vkey string, err error) {
	if err := checkOrigin(name); err != nil {
		return "", "", err
	}
	return note.GenerateKey(rand.Reader, name)
}

// NewSigner parses a signing key made by GenerateKey.
func NewSigner(skey string) (note.Signer, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		// The error of note quotes nothing of the key; keep it that way.
		return nil, fmt.Errorf("tlog: invalid signing key: %w", err)
	}
	return s, nil
}

// NewVerifier parses a verifier key "<name>+<hash>+<key>".
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("tlog: invalid verifier key %q: %w", vkey, err)
	}
	return v, nil
}

// VerifierKey derives the public verifier key from a signing key made by
// GenerateKey, so a server needs to keep only the signing key.
func VerifierKey(skey string) (string, error) {
	// note.NewSigner checks the format and that the key hash matches.
	if _, err := note.NewSigner(skey); err != nil {
		return "", fmt.Errorf("tlog: invalid signing key: %w", err)
	}
	// "PRIVATE+KEY+<name>+<hash>+<base64(alg || seed)>": the name holds no
	// '+' and the hash is hex, but the base64 key may hold '+'.
	rest := strings.TrimPrefix(skey, "PRIVATE+KEY+")
	name, rest, _ := strings.Cut(rest, "+")
	_, key64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 1+ed25519.SeedSize {
		return "", errors.New("tlog: invalid signing key: want an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return "", fmt.Errorf("tlog: %w", err)
	}
	return vkey, nil
}

// KeyID names a verifier key as "<name>+<hash>", as note signature lines and
// key strings do; State records it to pin the key.
func KeyID(v note.Verifier) string { return fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()) }

// checkpointBody formats the text of a checkpoint.
func checkpointBody(origin string, size uint64, root []byte) string {
	return origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root) + "\n"
}

// SignCheckpoint signs the checkpoint of head for the log named origin (see
// CheckpointOrigin): the C2SP tlog-checkpoint
//
//	<origin>
//	<size>
//	<base64 root>
//
// followed by a blank line and the signature line of signer. Ed25519 is
// deterministic, so one head always gives the same bytes.
func SignCheckpoint(signer note.Signer, origin string, head Head) ([]byte, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	root := head.Root
	if head.Size == 0 && root == nil {
		root = EmptyRoot()
	}
	if len(root) != HashSize {
		return nil, fmt.Errorf("tlog: sign checkpoint: root of %d bytes, want %d", len(root), HashSize)
	}
	msg, err := note.Sign(&note.Note{Text: checkpointBody(origin, head.Size, root)}, signer)
	if err != nil {
		return nil, fmt.Errorf("tlog: sign checkpoint: %w", err)
	}
	return msg, nil
}

// maxCheckpointSize bounds what OpenCheckpoint reads: an origin, two short
// lines and a few signatures.
const maxCheckpointSize = 64 << 10

// OpenCheckpoint checks that msg is a checkpoint for the log wantOrigin
// signed by verifier, and parses it. The body must be exactly the three
// lines SignCheckpoint writes: no extension lines, a size in canonical
// decimal, a root in canonical padded standard base64 of 32 bytes.
// Signatures by other keys (witnesses, say) are allowed and ignored. Every
// error matches ErrBadCheckpoint.
func OpenCheckpoint(msg []byte, verifier note.Verifier, wantOrigin string) (Checkpoint, error) {
	if len(msg) > maxCheckpointSize {
		return Checkpoint{}, fmt.Errorf("%w: %d bytes, more than a checkpoint can be", ErrBadCheckpoint, len(msg))
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			var by []string
			for _, s := range unverified.Note.UnverifiedSigs {
				by = append(by, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			return Checkpoint{}, fmt.Errorf("%w: it is not signed by the trusted key %s (signed by %s)", ErrBadCheckpoint, KeyID(verifier), orNone(by))
		case errors.As(err, &invalid):
			return Checkpoint{}, fmt.Errorf("%w: its signature by %s+%08x is invalid: the checkpoint was altered or forged", ErrBadCheckpoint, invalid.Name, invalid.Hash)
		}
		return Checkpoint{}, fmt.Errorf("%w: it is not a well-formed signed note (a text, a blank line, signature lines): %v", ErrBadCheckpoint, err)
	}
	cp, err := parseCheckpointBody(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if cp.Origin != wantOrigin {
		return Checkpoint{}, fmt.Errorf("%w: it is for the log %q, not %q", ErrBadCheckpoint, cp.Origin, wantOrigin)
	}
	cp.Note = bytes.Clone(msg)
	return cp, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no known key"
	}
	return strings.Join(s, ", ")
}

func parseCheckpointBody(text string) (Checkpoint, error) {
	lines := strings.Split(text, "\n")
	// A text of three lines ends in a newline, so Split gives a fourth,
	// empty, element.
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, fmt.Errorf("%w: its body has %d lines, want exactly 3 (origin, size, root)", ErrBadCheckpoint, strings.Count(text, "\n"))
	}
	origin, sizeText, rootText := lines[0], lines[1], lines[2]
	if err := checkOrigin(origin); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: its origin line: %v", ErrBadCheckpoint, err)
	}
	size, err := strconv.ParseUint(sizeText, 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("%w: tree size %q is not a canonical decimal number", ErrBadCheckpoint, sizeText)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(rootText)
	if err != nil || len(root) != HashSize || base64.StdEncoding.EncodeToString(root) != rootText {
		return Checkpoint{}, fmt.Errorf("%w: root %q is not the standard base64 of a %d-byte hash", ErrBadCheckpoint, rootText, HashSize)
	}
	return Checkpoint{Origin: origin, Size: size, Root: root}, nil
}
