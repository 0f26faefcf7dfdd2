package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/outpost-nms/outpost/shared/atomicfile"
)

// Segment is one append-only file of records. Appends are not safe for
// concurrent use (the user's lock orders them); ReadAt is.
type Segment struct {
	path string
	f    *os.File
	size int64
}

// CreateSegment creates an empty segment at path (0600), failing if a file
// is there, and fsyncs the directory so the new name survives a crash.
func CreateSegment(path string) (*Segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: create segment: %w", err)
	}
	if err := SyncDir(dirOf(path)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &Segment{path: path, f: f}, nil
}

// OpenSegment opens an existing segment for reading and appending. It
// reads the whole file and scans it with format and accept (see
// Format.Scan); appends go after the end of the file until Truncate cuts a
// torn tail.
func OpenSegment(path string, format Format, accept func(off int, r Rec) bool) (*Segment, ScanResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, ScanResult{}, fmt.Errorf("wal: open segment: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, ScanResult{}, fmt.Errorf("wal: read segment %s: %w", path, err)
	}
	res := format.Scan(data, accept)
	return &Segment{path: path, f: f, size: int64(len(data))}, res, nil
}

// Path returns the segment's file name.
func (s *Segment) Path() string { return s.path }

// Size returns the segment's length in bytes.
func (s *Segment) Size() int64 { return s.size }

// ModTime returns the file's modification time (zero if unknown).
func (s *Segment) ModTime() time.Time {
	if st, err := s.f.Stat(); err == nil {
		return st.ModTime()
	}
	return time.Time{}
}

// Truncate cuts the segment to n bytes (a torn tail found by the scan) and
// fsyncs it, so appends continue right after the last whole record.
func (s *Segment) Truncate(n int64) error {
	if err := s.f.Truncate(n); err != nil {
		return fmt.Errorf("wal: truncate %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("wal: fsync %s: %w", s.path, err)
	}
	s.size = n
	return nil
}

// Append writes whole encoded records at the end of the segment. A write
// that fails part way is cut back to the previous end so the next append
// starts on a record boundary; when even that fails, the returned error
// wraps ErrUndone and the segment must not be appended to again.
func (s *Segment) Append(recs []byte) error {
	if _, err := s.f.WriteAt(recs, s.size); err != nil {
		if terr := s.f.Truncate(s.size); terr != nil {
			return fmt.Errorf("wal: append to %s: %w; %w: %v", s.path, err, ErrUndone, terr)
		}
		return fmt.Errorf("wal: append to %s: %w", s.path, err)
	}
	s.size += int64(len(recs))
	return nil
}

// ErrUndone means a failed append could not be cut back.
var ErrUndone = errors.New("the partial write could not be undone")

// ReadAt reads len(b) bytes at off.
func (s *Segment) ReadAt(b []byte, off int64) (int, error) { return s.f.ReadAt(b, off) }

// Sync fsyncs the segment's data.
func (s *Segment) Sync() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("wal: fsync %s: %w", s.path, err)
	}
	return nil
}

// Close closes the file.
func (s *Segment) Close() error { return s.f.Close() }

// Remove closes and deletes the segment's file (a file already gone is
// not an error).
func (s *Segment) Remove() error {
	s.f.Close()
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wal: remove %s: %w", s.path, err)
	}
	return nil
}

// SyncDir fsyncs a directory, so file creations and removals in it survive
// a crash.
func SyncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	return nil
}

func dirOf(path string) string { return filepath.Dir(path) }
