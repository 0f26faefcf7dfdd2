package rrd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The on-disk layout of rrdtool 1.x on 64-bit little-endian machines. Every
// integer is a C unsigned long (8 bytes), every value a double; see
// rrd_format.h. The byte offsets below are inside each block.
const (
	statHeadSize = 128
	dsDefSize    = 120
	rraDefSize   = 120
	liveHeadSize = 16
	pdpPrepSize  = 112
	cdpPrepSize  = 80
	rraPtrSize   = 8

	nameLen   = 20 // ds_nam, dst, cf_nam (with the terminating NUL)
	lastDSLen = 30 // pdp_prep.last_ds (with the terminating NUL)

	// Indexes into cdp_prep.scratch (enum cdp_par_en).
	cdpVal       = 0
	cdpUnknPDP   = 1
	cdpPrimary   = 8
	cdpSecondary = 9

	// Limits that keep a hostile header from asking for absurd sizes
	// before the file size is even consulted.
	maxDS  = 1 << 12
	maxRRA = 1 << 12
)

// floatCookie is stat_head.float_cookie, a check that doubles are IEEE 754
// in the file's byte order.
const floatCookie = 8.642135e130

// unknownBits is how rrdtool writes an unknown value: DNAN, a negative quiet
// NaN (bytes 00 00 00 00 00 00 f8 ff).
const unknownBits = 0xfff8000000000000

var unknownValue = math.Float64frombits(unknownBits)

// ErrFormat is wrapped by every error about a file that is not a readable
// rrdtool archive (bad cookie, unsupported version, truncated, inconsistent
// counts, Holt-Winters archives).
var ErrFormat = errors.New("not a supported RRD file")

// dsDef is one data source definition.
type dsDef struct {
	name      string
	typ       string
	heartbeat uint64
	min, max  float64
}

// rraDef is one round-robin archive definition.
type rraDef struct {
	cf      string
	rows    uint64
	pdpCnt  uint64
	xff     float64
	rawPars [10]uint64 // par[] as stored (xff in par[0]); kept for round trips
}

// pdpPrep is the per-DS state of the primary data point being built.
type pdpPrep struct {
	lastDS  string  // the last input as text, "U" if unknown (unless lastIsU)
	lastU   uint64  // the last input when it was an API Uint (lastIsU)
	lastIsU bool    // last_ds is the decimal text of lastU, not yet formatted
	unknSec uint64  // scratch[0]: unknown seconds in the current step
	val     float64 // scratch[1]: accumulated rate x seconds
	rest    [8]uint64
}

// text returns last_ds as rrdtool stores it.
func (p *pdpPrep) text() string {
	if p.lastIsU {
		return strconv.FormatUint(p.lastU, 10)
	}
	return p.lastDS
}

// lastUnknown reports whether last_ds is "U" (rrdtool tests its first byte).
func (p *pdpPrep) lastUnknown() bool {
	return !p.lastIsU && len(p.lastDS) > 0 && p.lastDS[0] == 'U'
}

func (p *pdpPrep) setText(s string) { p.lastDS, p.lastIsU = s, false }

// header is the decoded header of an archive: every block before the values.
// It is the unit that an update changes besides the rows it writes.
type header struct {
	version  string
	step     uint64
	ds       []dsDef
	rra      []rraDef
	lastUp   int64
	lastUsec int64
	pdp      []pdpPrep
	cdp      [][10]uint64 // rra_cnt x ds_cnt scratch arrays, raw bits
	curRow   []uint64
	raw      []byte // the header bytes as read; the unchanged parts are kept from here
	rraStart []int64
	size     int64 // total file size the header implies
}

// headerLen returns the length of the header for ds data sources and rra
// archives.
func headerLen(ds, rra int) int64 {
	return statHeadSize + int64(ds)*dsDefSize + int64(rra)*rraDefSize + liveHeadSize +
		int64(ds)*pdpPrepSize + int64(rra)*int64(ds)*cdpPrepSize + int64(rra)*rraPtrSize
}

func (h *header) headerLen() int64 { return headerLen(len(h.ds), len(h.rra)) }

func (h *header) offLive() int64 {
	return statHeadSize + int64(len(h.ds))*dsDefSize + int64(len(h.rra))*rraDefSize
}

// rowOffset is the file offset of row `row` of archive `rra`.
func (h *header) rowOffset(rra int, row uint64) int64 {
	return h.rraStart[rra] + int64(row)*int64(len(h.ds))*8
}

func (h *header) cdpFloat(rra, ds, idx int) float64 {
	return math.Float64frombits(h.cdp[rra*len(h.ds)+ds][idx])
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func putCString(dst []byte, s string) {
	for i := range dst {
		dst[i] = 0
	}
	copy(dst[:len(dst)-1], s)
}

var le = binary.LittleEndian

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// readHeader reads and validates the header of an open archive. Every count
// is checked against the file size before anything is allocated from it, so
// a hostile or truncated file yields an error, never a panic or a huge
// allocation.
func readHeader(r io.ReaderAt, fileSize int64) (*header, error) {
	return readHeaderPart(r, fileSize, false)
}

// readHeaderPart is readHeader; with headOnly it reads and checks the
// header only up to the live head (definitions, sizes, last update) and
// leaves pdp, cdp and curRow nil and raw short, which is what the Cache
// needs to check updates (a few hundred bytes read, no per-archive state
// built).
func readHeaderPart(r io.ReaderAt, fileSize int64, headOnly bool) (*header, error) {
	if fileSize < statHeadSize {
		return nil, formatErr("file is %d bytes, shorter than the %d-byte header", fileSize, statHeadSize)
	}
	// One read usually gets the whole header (a few KB: 5.8 KB for 6 data
	// sources and 7 archives); a second one is needed only for big headers,
	// after the counts have been checked.
	firstLen := int64(8 << 10)
	if headOnly {
		firstLen = 2 << 10
	}
	first := make([]byte, min(fileSize, firstLen))
	if _, err := r.ReadAt(first, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read header: %w", err)
	}
	st := first[:statHeadSize]
	if string(st[0:4]) != "RRD\x00" {
		return nil, formatErr("bad cookie %q", st[0:4])
	}
	version := cString(st[4:9])
	switch version {
	case "0003", "0004", "0005":
	case "0001", "0002":
		return nil, formatErr("version %s (rrdtool < 1.2) is not supported; convert it with rrdtool dump/restore", version)
	default:
		return nil, formatErr("unknown version %q", version)
	}
	if fc := math.Float64frombits(le.Uint64(st[16:24])); fc != floatCookie {
		return nil, formatErr("float cookie mismatch (file from another architecture?)")
	}
	dsCnt, rraCnt, step := le.Uint64(st[24:32]), le.Uint64(st[32:40]), le.Uint64(st[40:48])
	if dsCnt == 0 || dsCnt > maxDS || rraCnt == 0 || rraCnt > maxRRA {
		return nil, formatErr("implausible counts: %d data sources, %d archives", dsCnt, rraCnt)
	}
	if step == 0 || step > 1<<40 {
		return nil, formatErr("implausible step %d", step)
	}
	hl := headerLen(int(dsCnt), int(rraCnt))
	if hl > fileSize {
		return nil, formatErr("truncated: header needs %d bytes, file has %d", hl, fileSize)
	}
	need := hl
	if headOnly {
		need = statHeadSize + int64(dsCnt)*dsDefSize + int64(rraCnt)*rraDefSize + liveHeadSize
	}
	raw := first[:min(need, int64(len(first)))]
	if need > int64(len(first)) {
		raw = make([]byte, need)
		copy(raw, first)
		if _, err := r.ReadAt(raw[len(first):], int64(len(first))); err != nil {
			return nil, fmt.Errorf("read header: %w", err)
		}
	}
	h := &header{version: version, step: step, raw: raw}
	h.ds = make([]dsDef, dsCnt)
	h.rra = make([]rraDef, rraCnt)
	off := int64(statHeadSize)
	for i := range h.ds {
		b := raw[off : off+dsDefSize]
		d := &h.ds[i]
		d.name = cString(b[0:nameLen])
		d.typ = cString(b[nameLen : 2*nameLen])
		d.heartbeat = le.Uint64(b[40:48])
		d.min = math.Float64frombits(le.Uint64(b[48:56]))
		d.max = math.Float64frombits(le.Uint64(b[56:64]))
		if d.name == "" {
			return nil, formatErr("data source %d has no name", i)
		}
		if !isDSType(d.typ) {
			return nil, formatErr("data source %q has unsupported type %q", d.name, d.typ)
		}
		off += dsDefSize
	}
	total := hl
	h.rraStart = make([]int64, rraCnt)
	for i := range h.rra {
		b := raw[off : off+rraDefSize]
		a := &h.rra[i]
		a.cf = cString(b[0:nameLen])
		a.rows = le.Uint64(b[24:32])
		a.pdpCnt = le.Uint64(b[32:40])
		for j := range a.rawPars {
			a.rawPars[j] = le.Uint64(b[40+8*j:])
		}
		a.xff = math.Float64frombits(a.rawPars[0])
		if !isCF(a.cf) {
			return nil, formatErr("archive %d has consolidation function %q: Holt-Winters and other special archives are not supported", i, a.cf)
		}
		if a.rows == 0 || a.pdpCnt == 0 || a.pdpCnt > 1<<40 {
			return nil, formatErr("archive %d has %d rows of %d steps", i, a.rows, a.pdpCnt)
		}
		// The span of the archive, step*pdp_cnt*rows seconds, must not
		// overflow the time arithmetic of update and fetch.
		if a.pdpCnt > (1<<52)/step || a.rows > (1<<52)/(step*a.pdpCnt) {
			return nil, formatErr("archive %d spans more than 2^52 seconds", i)
		}
		// rows*ds*8 must fit in what is left of the file.
		left := fileSize - total
		if a.rows > uint64(left)/(dsCnt*8) {
			return nil, formatErr("truncated: archive %d needs %d rows, file has room for fewer", i, a.rows)
		}
		h.rraStart[i] = total
		total += int64(a.rows) * int64(dsCnt) * 8
		off += rraDefSize
	}
	if total != fileSize {
		return nil, formatErr("file is %d bytes, its header describes %d", fileSize, total)
	}
	h.size = total
	h.lastUp = int64(le.Uint64(raw[off:]))
	h.lastUsec = int64(le.Uint64(raw[off+8:]))
	if h.lastUsec < 0 || h.lastUsec >= 1000000 {
		return nil, formatErr("bad last update microseconds %d", h.lastUsec)
	}
	if headOnly {
		return h, nil
	}
	off += liveHeadSize
	h.pdp = make([]pdpPrep, dsCnt)
	for i := range h.pdp {
		b := raw[off : off+pdpPrepSize]
		p := &h.pdp[i]
		p.lastDS = cString(b[0:lastDSLen])
		p.unknSec = le.Uint64(b[32:40])
		p.val = math.Float64frombits(le.Uint64(b[40:48]))
		for j := range p.rest {
			p.rest[j] = le.Uint64(b[48+8*j:])
		}
		off += pdpPrepSize
	}
	h.cdp = make([][10]uint64, rraCnt*dsCnt)
	for i := range h.cdp {
		for j := 0; j < 10; j++ {
			h.cdp[i][j] = le.Uint64(raw[off+int64(8*j):])
		}
		off += cdpPrepSize
	}
	h.curRow = make([]uint64, rraCnt)
	for i := range h.curRow {
		h.curRow[i] = le.Uint64(raw[off:])
		if h.curRow[i] >= h.rra[i].rows {
			return nil, formatErr("archive %d: current row %d beyond %d rows", i, h.curRow[i], h.rra[i].rows)
		}
		off += rraPtrSize
	}
	return h, nil
}

// encode returns the header bytes with the mutable blocks (live head,
// pdp_prep, cdp_prep, rra_ptr) rewritten from h; the definitions are taken
// from h.raw.
func (h *header) encode() []byte {
	b := make([]byte, len(h.raw))
	copy(b, h.raw)
	off := h.offLive()
	le.PutUint64(b[off:], uint64(h.lastUp))
	le.PutUint64(b[off+8:], uint64(h.lastUsec))
	off += liveHeadSize
	for i := range h.pdp {
		p := &h.pdp[i]
		putCString(b[off:off+lastDSLen], p.text())
		le.PutUint64(b[off+32:], p.unknSec)
		le.PutUint64(b[off+40:], math.Float64bits(p.val))
		for j := range p.rest {
			le.PutUint64(b[off+48+int64(8*j):], p.rest[j])
		}
		off += pdpPrepSize
	}
	for i := range h.cdp {
		for j := 0; j < 10; j++ {
			le.PutUint64(b[off+int64(8*j):], h.cdp[i][j])
		}
		off += cdpPrepSize
	}
	for i := range h.curRow {
		le.PutUint64(b[off:], h.curRow[i])
		off += rraPtrSize
	}
	return b
}

// openHeader opens path for reading under a shared lock, after recovering
// an interrupted write if a journal is pending, and reads the header. The
// caller closes the file, which releases the lock.
func openHeader(path string) (*os.File, *header, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	adviseRandom(f)
	fail := func(err error) (*os.File, *header, error) {
		f.Close()
		return nil, nil, err
	}
	if err := flock(f, unix.LOCK_SH); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	if pending, err := journalPending(path); err != nil {
		return fail(err)
	} else if pending {
		// A crashed writer left a journal: replay it under an exclusive
		// lock taken through another open, then read under ours.
		if err := flock(f, unix.LOCK_UN); err != nil {
			return fail(err)
		}
		if err := recoverJournal(path); err != nil {
			return fail(err)
		}
		if err := flock(f, unix.LOCK_SH); err != nil {
			return fail(err)
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	h, err := readHeader(f, fi.Size())
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	return f, h, nil
}

// peekHeader reads path's header under a shared lock, without the journal
// check openHeader makes: the Cache uses it to learn a file's data sources
// and last update when it first sees the file, on the caller's goroutine,
// so it uses a bare descriptor (os.File's setup costs three more system
// calls). A crashed writer's pending journal can make the last update it
// reads older than the file's real one; the flush, which opens the file
// for writing and so recovers it, then skips the updates the file already
// has.
func peekHeader(path string) (*header, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	unix.Fadvise(fd, 0, 0, unix.FADV_RANDOM) // see adviseRandom
	for {
		if err = unix.Flock(fd, unix.LOCK_SH); err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: lock: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	h, err := readHeaderPart(fdReader(fd), st.Size, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// fdReader reads a bare file descriptor at offsets.
type fdReader int

func (r fdReader) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Pread(int(r), b[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}
