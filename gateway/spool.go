package gateway

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The spool is a write-ahead log of access records the server has not
// acknowledged. It is what lets the gateway keep allowing access while the
// server is unreachable without ever allowing an access it has not
// recorded: a batch is appended and fsynced before any of its accesses
// proceeds, and shipped, in order, once the server answers again.
//
// Files in the spool directory (created 0700):
//
//	spool.log     frames, appended; emptied once everything is shipped
//	spool.offset  decimal byte offset of the first unshipped frame
//	lock          held (flock) by the one gateway using the directory
//
// A frame is a 4-byte big-endian payload length, the 4-byte big-endian
// CRC-32C (Castagnoli) of the payload, and the payload: one AccessRecord as
// JSON. A crash can leave a torn last frame (its batch was never
// acknowledged, so no access depended on it); opening the spool cuts it off.
// Complete frames of a batch whose fsync had not returned may survive a
// crash and be shipped: their accesses never proceeded, which the missing
// completion record shows (as with any write-ahead log, a decision record
// means a decision was taken; only a completion proves the upstream was
// reached).
// Bytes after a damaged frame are moved to spool.damaged.<unix-nanos> for
// inspection rather than deleted.

const (
	spoolLog    = "spool.log"
	spoolOffset = "spool.offset"
	frameHeader = 8
	// maxFrame bounds one record's JSON; records are small (paths are
	// truncated), so a larger length field means damage.
	maxFrame = 1 << 20
	// DefaultSpoolMaxBytes bounds the spool: when it is full, accesses are
	// refused rather than the disk filled.
	DefaultSpoolMaxBytes = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of frame decoding.
var (
	ErrTornFrame    = errors.New("spool: torn frame at the end")
	ErrCorruptFrame = errors.New("spool: corrupt frame")
	ErrSpoolFull    = errors.New("spool: full")
)

// EncodeFrames appends the frames of recs to dst.
func EncodeFrames(dst []byte, recs []AccessRecord) ([]byte, error) {
	for i := range recs {
		payload, err := json.Marshal(&recs[i])
		if err != nil {
			return nil, err
		}
		if len(payload) > maxFrame {
			return nil, fmt.Errorf("spool: record %s is %d bytes, more than %d", recs[i].ID, len(payload), maxFrame)
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
		dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
		dst = append(dst, payload...)
	}
	return dst, nil
}

// DecodeFrames decodes the complete, intact frames at the start of b. It
// returns the records, the length of b they take, and — when it stopped
// before the end of b — ErrTornFrame (b ends inside a frame) or
// ErrCorruptFrame (a checksum, length or JSON is wrong).
func DecodeFrames(b []byte) (recs []AccessRecord, n int, err error) {
	return decodeFrames(b, -1)
}

// decodeFrames decodes at most max frames (max < 0: all).
func decodeFrames(b []byte, max int) (recs []AccessRecord, n int, err error) {
	for n < len(b) && (max < 0 || len(recs) < max) {
		rest := b[n:]
		if len(rest) < frameHeader {
			return recs, n, ErrTornFrame
		}
		size := binary.BigEndian.Uint32(rest)
		sum := binary.BigEndian.Uint32(rest[4:])
		if size > maxFrame {
			return recs, n, fmt.Errorf("%w at byte %d: length %d", ErrCorruptFrame, n, size)
		}
		if uint32(len(rest)-frameHeader) < size {
			return recs, n, ErrTornFrame
		}
		payload := rest[frameHeader : frameHeader+int(size)]
		if crc32.Checksum(payload, castagnoli) != sum {
			return recs, n, fmt.Errorf("%w at byte %d: checksum mismatch", ErrCorruptFrame, n)
		}
		var r AccessRecord
		if err := json.Unmarshal(payload, &r); err != nil {
			return recs, n, fmt.Errorf("%w at byte %d: %v", ErrCorruptFrame, n, err)
		}
		recs = append(recs, r)
		n += frameHeader + int(size)
	}
	return recs, n, nil
}

// Spool is the on-disk write-ahead log of unshipped records. Append and
// Advance are safe to call from different goroutines (the Recorder's
// committer and drainer).
type Spool struct {
	dir      string
	maxBytes int64
	log      *slog.Logger
	unlock   func()

	mu      sync.Mutex
	size    int64 // bytes of intact frames in spool.log
	shipped int64 // offset of the first unshipped frame
}

// OpenSpool opens (creating) the spool in dir, takes its lock, and recovers
// from a crash: a torn last frame is cut off, an offset that is not a frame
// boundary restarts shipping from the beginning (the server deduplicates by
// record id). maxBytes <= 0 means DefaultSpoolMaxBytes.
func OpenSpool(dir string, maxBytes int64, logger *slog.Logger) (*Spool, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultSpoolMaxBytes
	}
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	// Records name customers' resources: the directory is the gateway's
	// alone, whatever mode it was created with.
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	} else if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("spool: %s is open to other users and cannot be restricted: %w", dir, err)
		}
		logger.Info("spool: restricted the spool directory to its owner (0700)", "dir", dir)
	}
	unlock, err := lockDir(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("spool: %s is in use by another gateway, or cannot be locked: %w", dir, err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, log: logger, unlock: unlock}
	if err := s.recover(); err != nil {
		unlock()
		return nil, err
	}
	return s, nil
}

func (s *Spool) path(name string) string { return filepath.Join(s.dir, name) }

func (s *Spool) recover() error {
	b, err := os.ReadFile(s.path(spoolLog))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	_, n, derr := DecodeFrames(b)
	if derr != nil {
		if errors.Is(derr, ErrCorruptFrame) || len(b)-n > frameHeader+maxFrame {
			name := s.path(fmt.Sprintf("spool.damaged.%d", time.Now().UnixNano()))
			if err := os.WriteFile(name, b[n:], 0o600); err != nil {
				return fmt.Errorf("spool: saving the damaged tail of %s: %w", s.path(spoolLog), err)
			}
			s.log.Error("spool: damaged records moved aside", "file", name, "bytes", len(b)-n, "error", derr)
		} else {
			s.log.Warn("spool: cutting off a torn last record (its accesses were never allowed)", "bytes", len(b)-n)
		}
		if err := os.Truncate(s.path(spoolLog), int64(n)); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	s.size = int64(n)
	off, err := os.ReadFile(s.path(spoolOffset))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("spool: %w", err)
	default:
		v, perr := strconv.ParseInt(strings.TrimSpace(string(off)), 10, 64)
		if perr != nil || v < 0 || v > s.size || !isBoundary(b[:n], int(v)) {
			s.log.Warn("spool: offset file does not match the log; shipping from the start", "offset", string(off))
			v = 0
		}
		s.shipped = v
	}
	if s.shipped == s.size && s.size > 0 {
		// Everything was shipped; the crash came before the truncation.
		return s.reset()
	}
	return nil
}

func isBoundary(b []byte, off int) bool {
	_, n, _ := DecodeFrames(b[:off])
	return n == off
}

// Pending reports the bytes not yet shipped.
func (s *Spool) Pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size - s.shipped
}

// Append writes recs to the end of the log and fsyncs once; when it returns
// nil, they survive a crash. The file is opened for each batch and its size
// checked, so a spool file removed or truncated behind the gateway's back is
// noticed (and the access refused) rather than written into the void; only
// the degraded path (server unreachable) pays for the open.
func (s *Spool) Append(recs []AccessRecord) error {
	buf, err := EncodeFrames(nil, recs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size+int64(len(buf)) > s.maxBytes {
		return fmt.Errorf("%w: %d bytes pending, limit %d", ErrSpoolFull, s.size-s.shipped, s.maxBytes)
	}
	f, err := os.OpenFile(s.path(spoolLog), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if st.Size() != s.size {
		return fmt.Errorf("spool: %s changed size behind the gateway (%d bytes, expected %d)", s.path(spoolLog), st.Size(), s.size)
	}
	if _, err := f.WriteAt(buf, s.size); err != nil {
		_ = f.Truncate(s.size) // a partial frame must not sit before the next batch
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Truncate(s.size)
		return fmt.Errorf("spool: fsync: %w", err)
	}
	if s.size == 0 {
		syncDir(s.dir) // the file may be new
	}
	s.size += int64(len(buf))
	return nil
}

// Next reads up to max unshipped records, in order, and the offset to pass
// to Advance once they are shipped.
func (s *Spool) Next(max int) ([]AccessRecord, int64, error) {
	s.mu.Lock()
	from, to := s.shipped, s.size
	s.mu.Unlock()
	if from == to {
		return nil, from, nil
	}
	if to-from > 4<<20 {
		to = from + 4<<20 // read a bounded chunk; DecodeFrames stops at the torn end
	}
	f, err := os.Open(s.path(spoolLog))
	if err != nil {
		return nil, from, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	b := make([]byte, to-from)
	if _, err := f.ReadAt(b, from); err != nil && !errors.Is(err, io.EOF) {
		return nil, from, fmt.Errorf("spool: %w", err)
	}
	recs, n, err := decodeFrames(b, max)
	if err != nil && !errors.Is(err, ErrTornFrame) {
		return nil, from, err
	}
	if len(recs) == 0 {
		return nil, from, fmt.Errorf("spool: cannot read the frame at byte %d: %v", from, err)
	}
	return recs, from + int64(n), nil
}

// Advance marks everything before off as shipped. When nothing is left the
// log is emptied, so it does not grow across outages.
func (s *Spool) Advance(off int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off < s.shipped || off > s.size {
		return fmt.Errorf("spool: offset %d outside [%d, %d]", off, s.shipped, s.size)
	}
	s.shipped = off
	if s.shipped == s.size {
		return s.reset()
	}
	return writeAtomic(s.path(spoolOffset), []byte(strconv.FormatInt(off, 10)+"\n"))
}

// reset empties the log; callers hold mu. The log is truncated before the
// offset file is removed: a crash in between leaves an offset beyond the
// log, which recover treats as "ship from the start" of an empty log.
func (s *Spool) reset() error {
	if err := os.Truncate(s.path(spoolLog), 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Remove(s.path(spoolOffset)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	s.size, s.shipped = 0, 0
	return nil
}

// Close releases the directory lock.
func (s *Spool) Close() error {
	s.unlock()
	return nil
}

// closeIfOpen closes a spool that may be nil (no spool configured).
func (s *Spool) closeIfOpen() {
	if s != nil {
		s.Close()
	}
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
