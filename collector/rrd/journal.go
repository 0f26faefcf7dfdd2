package rrd

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The per-file redo journal. An update (or a cache flush of several) changes
// the header and a handful of rows at scattered offsets; no single write
// can change them atomically. So every change is first written, whole, to
// "<archive>.journal": a magic, the extents (offset, length, bytes), a
// CRC-32C of everything before it, and an end marker. Only when that file
// is complete (and, where durability is promised, synced) are the extents
// written in place; then the archive is synced and the journal removed.
//
// Recovery, done by every Outpost open of the archive: a complete journal
// (marker and CRC valid) is replayed, which is idempotent; an incomplete
// one is deleted, because the archive was not touched before the journal
// was complete. So after a crash at any point the archive is either as
// before or as after the whole batch.

const (
	journalMagic = "OUTPOST-RRD-JOURNAL-1\n"
	journalEnd   = "END!"
	// journalSuffix is appended to the archive's path.
	journalSuffix = ".journal"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func journalPath(path string) string { return path + journalSuffix }

// encodeJournal serialises extents into a journal image.
func encodeJournal(exts []extent) []byte {
	n := len(journalMagic) + 8 + 4 + len(journalEnd)
	for _, e := range exts {
		n += 16 + len(e.data)
	}
	b := make([]byte, 0, n)
	b = append(b, journalMagic...)
	b = le.AppendUint64(b, uint64(len(exts)))
	for _, e := range exts {
		b = le.AppendUint64(b, uint64(e.off))
		b = le.AppendUint64(b, uint64(len(e.data)))
		b = append(b, e.data...)
	}
	b = le.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return append(b, journalEnd...)
}

// decodeJournal parses a journal image; ok is false for a torn or foreign
// one. Extents must lie inside an archive of size limit.
func decodeJournal(b []byte, limit int64) (exts []extent, ok bool) {
	tail := 4 + len(journalEnd)
	if len(b) < len(journalMagic)+8+tail || !bytes.HasPrefix(b, []byte(journalMagic)) ||
		string(b[len(b)-len(journalEnd):]) != journalEnd {
		return nil, false
	}
	body := b[:len(b)-tail]
	if crc32.Checksum(body, castagnoli) != le.Uint32(b[len(b)-tail:]) {
		return nil, false
	}
	p := body[len(journalMagic):]
	cnt := le.Uint64(p)
	p = p[8:]
	if cnt > uint64(len(p))/16 {
		return nil, false
	}
	for i := uint64(0); i < cnt; i++ {
		if len(p) < 16 {
			return nil, false
		}
		off, n := le.Uint64(p), le.Uint64(p[8:])
		p = p[16:]
		if n > uint64(len(p)) || off > uint64(limit) || off+n > uint64(limit) {
			return nil, false
		}
		exts = append(exts, extent{off: int64(off), data: p[:n]})
		p = p[n:]
	}
	return exts, len(p) == 0
}

// writeJournal writes the journal for exts next to path; with sync it is on
// stable storage (file and directory entry) when writeJournal returns.
func writeJournal(path string, exts []extent, sync bool) error {
	jp := journalPath(path)
	j, err := os.OpenFile(jp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := j.Write(encodeJournal(exts)); err != nil {
		j.Close()
		return fmt.Errorf("journal: %w", err)
	}
	if sync {
		if err := j.Sync(); err != nil {
			j.Close()
			return fmt.Errorf("journal sync: %w", err)
		}
	}
	if err := j.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if sync {
		return syncDir(filepath.Dir(path))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// applyExtents writes exts in place.
func applyExtents(f *os.File, exts []extent) error {
	for _, e := range exts {
		if _, err := f.WriteAt(e.data, e.off); err != nil {
			return fmt.Errorf("write at %d: %w", e.off, err)
		}
	}
	return nil
}

// commit makes exts the new content of the open, exclusively locked
// archive f atomically: journal, then in place, then the journal removed.
// With sync every step is durable before the next.
func commit(path string, f *os.File, exts []extent, sync bool) error {
	if err := writeJournal(path, exts, sync); err != nil {
		return err
	}
	if err := applyExtents(f, exts); err != nil {
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if err := os.Remove(journalPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// lockFile takes an exclusive flock on f (per open file description, so it
// also excludes other opens in the same process).
func lockFile(f *os.File) error {
	return flock(f, unix.LOCK_EX)
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			if err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			return nil
		}
	}
}

// recoverJournal replays or discards a pending journal of path. It is cheap
// (one stat) when there is none.
func recoverJournal(path string) error {
	jp := journalPath(path)
	if _, err := os.Lstat(jp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	return recoverLocked(path, f)
}

// recoverLocked is recoverJournal for an archive already open and locked.
func recoverLocked(path string, f *os.File) error {
	jp := journalPath(path)
	j, err := os.Open(jp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("recover %s: %w", path, err)
	}
	img, err := io.ReadAll(io.LimitReader(j, 1<<30))
	j.Close()
	if err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	if exts, ok := decodeJournal(img, fi.Size()); ok {
		if err := applyExtents(f, exts); err != nil {
			return fmt.Errorf("recover %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("recover %s: %w", path, err)
		}
	}
	if err := os.Remove(jp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	return nil
}
