package rrd

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// The per-file redo journal. An update (or a cache flush of several) changes
// the header and a handful of rows at scattered offsets; no single write
// can change them atomically. So every change is first written, whole, to
// "<archive>.journal": a state word, a magic, the image length, the extents
// (offset, length, bytes), a CRC-32C of the image, and an end marker. Only
// when the journal is complete (and, where durability is promised, synced)
// are the extents written in place; then (after syncing the archive where
// promised) the state word is overwritten with APPLIED.
//
// The journal file is kept and rewritten in place by the next commit
// instead of being created and unlinked every time: creating and removing
// a file per archive per flush costs two metadata transactions, which were
// most of the cost of a flush; an 8-byte overwrite costs nothing extra.
//
// Recovery, done by every Outpost open of the archive: a PENDING journal
// that is complete (length, CRC and end marker valid) is replayed, which is
// idempotent; a torn one is ignored, because the archive was not touched
// before the journal was complete; either way it is then marked APPLIED.
// So after a crash at any point the archive is either as before or as after
// the whole batch. A stale journal can never be replayed over newer data:
// every commit rewrites (and syncs) the journal before it writes in place,
// and a PENDING journal is only rewritten once the archive writes it
// covers are durable (UpdateFile syncs the archive before marking; the
// Cache marks and rewrites only after a barrier).

const (
	stateLen      = 8
	statePending  = "PENDING\n"
	stateApplied  = "APPLIED\n"
	journalMagic  = "OUTPOST-RRD-JOURNAL-2\n"
	journalEnd    = "END!"
	journalSuffix = ".journal" // appended to the archive's path
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func journalPath(path string) string { return path + journalSuffix }

// encodeJournal serialises extents into a journal image (state PENDING).
func encodeJournal(exts []extent) []byte {
	n := stateLen + len(journalMagic) + 16 + 4 + len(journalEnd)
	for _, e := range exts {
		n += 16 + len(e.data)
	}
	b := make([]byte, 0, n)
	b = append(b, statePending...)
	b = append(b, journalMagic...)
	b = le.AppendUint64(b, uint64(n))
	b = le.AppendUint64(b, uint64(len(exts)))
	for _, e := range exts {
		b = le.AppendUint64(b, uint64(e.off))
		b = le.AppendUint64(b, uint64(len(e.data)))
		b = append(b, e.data...)
	}
	b = le.AppendUint32(b, crc32.Checksum(b[stateLen:], castagnoli))
	return append(b, journalEnd...)
}

// decodeJournal parses a journal file's bytes. pending is false when the
// state word is not PENDING (nothing to do); ok is false for a torn or
// foreign image. Bytes after the image (left by a longer earlier journal)
// are ignored. Extents must lie inside an archive of size limit.
func decodeJournal(b []byte, limit int64) (exts []extent, pending, ok bool) {
	if len(b) < stateLen || string(b[:stateLen]) != statePending {
		return nil, false, false
	}
	head := stateLen + len(journalMagic) + 16
	if len(b) < head || string(b[stateLen:stateLen+len(journalMagic)]) != journalMagic {
		return nil, true, false
	}
	n := le.Uint64(b[stateLen+len(journalMagic):])
	tail := uint64(4 + len(journalEnd))
	if n < uint64(head)+tail || n > uint64(len(b)) {
		return nil, true, false
	}
	b = b[:n]
	if string(b[n-uint64(len(journalEnd)):]) != journalEnd {
		return nil, true, false
	}
	body := b[:n-tail]
	if crc32.Checksum(body[stateLen:], castagnoli) != le.Uint32(b[n-tail:]) {
		return nil, true, false
	}
	p := body[head:]
	cnt := le.Uint64(body[head-8:])
	if cnt > uint64(len(p))/16 {
		return nil, true, false
	}
	for i := uint64(0); i < cnt; i++ {
		if len(p) < 16 {
			return nil, true, false
		}
		off, l := le.Uint64(p), le.Uint64(p[8:])
		p = p[16:]
		if l > uint64(len(p)) || off > uint64(limit) || off+l > uint64(limit) {
			return nil, true, false
		}
		exts = append(exts, extent{off: int64(off), data: p[:l]})
		p = p[l:]
	}
	return exts, true, len(p) == 0
}

// archiveWriter is an archive open for writing: locked exclusively, its
// journal open (created if missing) and any pending journal recovered.
type archiveWriter struct {
	path    string
	f, j    *os.File
	h       *header
	created bool   // the journal file was created by this open
	dev     uint64 // the file system holding the archive
}

// openForWrite opens path for an update: exclusive flock, journal opened
// once for both recovery and the coming commit, header read.
func openForWrite(path string) (*archiveWriter, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	adviseRandom(f)
	w := &archiveWriter{path: path, f: f}
	if err := lockFile(f); err != nil {
		w.close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	jp := journalPath(path)
	w.j, err = os.OpenFile(jp, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		w.j, err = os.OpenFile(jp, os.O_RDWR|os.O_CREATE, 0o644)
		w.created = true
	}
	if err != nil {
		w.close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := recoverWith(path, f, w.j); err != nil {
		w.close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		w.close()
		return nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		w.dev = st.Dev
	}
	if w.h, err = readHeader(f, fi.Size()); err != nil {
		w.close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

func (w *archiveWriter) close() {
	if w.j != nil {
		w.j.Close()
	}
	w.f.Close()
}

// writeJournal writes the journal image of exts; with sync it is on stable
// storage (and so is its directory entry, the first time) when it returns.
func (w *archiveWriter) writeJournal(exts []extent, sync bool) error {
	if _, err := w.j.WriteAt(encodeJournal(exts), 0); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if sync {
		return w.syncJournal()
	}
	return nil
}

// syncJournal makes the journal durable, and its directory entry the first
// time.
func (w *archiveWriter) syncJournal() error {
	if err := unix.Fdatasync(int(w.j.Fd())); err != nil {
		return fmt.Errorf("journal sync: %w", err)
	}
	if w.created {
		if err := syncDir(filepath.Dir(w.path)); err != nil {
			return err
		}
		w.created = false
	}
	return nil
}

// markApplied overwrites the state word of an open journal.
func markApplied(j *os.File) error {
	if _, err := j.WriteAt([]byte(stateApplied), 0); err != nil {
		return fmt.Errorf("journal: %w", err)
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

// commit makes exts the new content of the archive atomically: journal,
// then in place, then the journal marked applied. With sync every step is
// durable before the next.
func (w *archiveWriter) commit(exts []extent, sync bool) error {
	if err := w.writeJournal(exts, sync); err != nil {
		return err
	}
	if err := applyExtents(w.f, exts); err != nil {
		return err
	}
	if sync {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	return markApplied(w.j)
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

// journalPending reports whether path has a journal in state PENDING. It
// costs a failed open when there is no journal and an 8-byte read when there
// is one.
func journalPending(path string) (bool, error) {
	j, err := os.Open(journalPath(path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	defer j.Close()
	var st [stateLen]byte
	n, _ := j.ReadAt(st[:], 0)
	return n == stateLen && string(st[:]) == statePending, nil
}

// recoverJournal replays or discards a pending journal of path.
func recoverJournal(path string) error {
	if p, err := journalPending(path); err != nil || !p {
		return err
	}
	w, err := openForWrite(path) // recovers
	if err != nil {
		return fmt.Errorf("recover %w", err)
	}
	w.close()
	return nil
}

// recoverWith replays a pending journal j into the archive f (open and
// locked exclusively) and marks it applied; a torn one is only marked.
func recoverWith(path string, f, j *os.File) error {
	var st [stateLen]byte
	if n, _ := j.ReadAt(st[:], 0); n != stateLen || string(st[:]) != statePending {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	// A journal holds at most the whole archive plus framing per row.
	img, err := io.ReadAll(io.LimitReader(io.NewSectionReader(j, 0, 1<<62), 3*fi.Size()+1<<20))
	if err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	if exts, _, ok := decodeJournal(img, fi.Size()); ok {
		if err := applyExtents(f, exts); err != nil {
			return fmt.Errorf("recover %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("recover %s: %w", path, err)
		}
	}
	if err := markApplied(j); err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	return j.Sync()
}
