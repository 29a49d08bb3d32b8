package grant

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// FileStore keeps the ring as a JSON file that only its owner may read: the
// file is written 0600 in a directory created 0700, and Load refuses a file
// that group or others can read or write, the way ssh refuses a private key
// with loose permissions — a key someone else could have read is not a key
// to sign with. Writes go to a temporary file that is fsynced and renamed
// over the old one, so a crash leaves the old ring or the new one, never a
// mix. The version is kept in the file and checked under an exclusive lock
// (flock where the platform has it), so processes sharing the file cannot
// lose each other's rotations.
//
// It suits a single server with its data directory (the SQLite deployment);
// replicas sharing a database keep the ring there through EncryptedStore.
type FileStore struct {
	// Path is the ring file, such as <data-dir>/grant-keys.json.
	Path string
	mu   sync.Mutex // serialises this process; the file lock covers others
}

var _ KeyStore = (*FileStore)(nil)

// Load reads the ring, refusing a file with loose permissions.
func (s *FileStore) Load(_ context.Context) (*Keyring, error) {
	b, err := s.read()
	if err != nil {
		return nil, err
	}
	r, _, err := unmarshalRing(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	return r, nil
}

func (s *FileStore) read() ([]byte, error) {
	f, err := os.Open(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoKeyring
	}
	if err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("grant: %s is not a regular file", s.Path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("grant: %s holds private signing keys but has mode %#o, readable or writable by others; "+
			"run chmod 600 on it (and check who may have read it)", s.Path, perm)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("grant: reading %s: %w", s.Path, err)
	}
	return b, nil
}

// Save writes ring if the file still holds the version ring was loaded from.
func (s *FileStore) Save(_ context.Context, ring *Keyring) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	unlock, err := lockFile(s.Path + ".lock")
	if err != nil {
		return fmt.Errorf("grant: locking %s: %w", s.Path, err)
	}
	defer unlock()

	var stored int64
	switch b, err := s.read(); {
	case errors.Is(err, ErrNoKeyring):
	case err != nil:
		return err
	default:
		_, v, err := unmarshalRing(b)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Path, err)
		}
		stored = v
	}
	ring.mu.RLock()
	mine := ring.version
	ring.mu.RUnlock()
	if stored != mine {
		return fmt.Errorf("%w: %s is at version %d, the ring was loaded at %d", ErrStaleKeyring, s.Path, stored, mine)
	}
	b, err := marshalRing(ring, mine+1)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.Path, b); err != nil {
		return err
	}
	ring.mu.Lock()
	ring.version = mine + 1
	ring.mu.Unlock()
	return nil
}

// writeFileAtomic writes b to path through an fsynced temporary file created
// 0600, renamed into place, with the directory fsynced so the rename lasts.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("grant: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("grant: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("grant: syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every platform syncs directories
		d.Close()
	}
	return nil
}
