package rrd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Data source types (DS.Type).
const (
	Gauge    = "GAUGE"
	Counter  = "COUNTER"
	Derive   = "DERIVE"
	Absolute = "ABSOLUTE"
	DCounter = "DCOUNTER"
	DDerive  = "DDERIVE"
)

// Consolidation functions (RRA.CF).
const (
	Average = "AVERAGE"
	Min     = "MIN"
	Max     = "MAX"
	Last    = "LAST"
)

func isDSType(s string) bool {
	switch s {
	case Gauge, Counter, Derive, Absolute, DCounter, DDerive:
		return true
	}
	return false
}

func isCF(s string) bool {
	switch s {
	case Average, Min, Max, Last:
		return true
	}
	return false
}

// DS defines a data source. Heartbeat is in seconds: an interval between two
// updates longer than it makes the data unknown. Min and Max bound the rate
// (per second for COUNTER, DERIVE, ABSOLUTE, DCOUNTER, DDERIVE; the value for
// GAUGE); a rate outside them is stored as unknown. NaN means no limit.
type DS struct {
	Name      string
	Type      string
	Heartbeat int64
	Min, Max  float64
}

// RRA defines a round-robin archive: Rows consolidated rows, each of Steps
// primary data points combined with CF. XFF (0 <= XFF < 1) is the fraction
// of unknown primary points above which a row is unknown.
type RRA struct {
	CF    string
	XFF   float64
	Steps int
	Rows  int
}

// Spec describes a new archive file. Step is the primary data point interval
// in seconds (default 300). Start is the time of the notional last update
// (default: now - 10 s); the first update must be newer.
type Spec struct {
	Step  int64
	Start time.Time
	DS    []DS
	RRAs  []RRA
}

// ErrExists is returned (wrapped) by Create when the file already exists.
var ErrExists = errors.New("archive already exists")

func validName(s string) bool {
	if len(s) == 0 || len(s) > nameLen-1 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Spec) validate() error {
	if s.Step < 1 {
		return fmt.Errorf("step %d: must be at least 1 second", s.Step)
	}
	if len(s.DS) == 0 {
		return errors.New("you must define at least one Data Source")
	}
	if len(s.RRAs) == 0 {
		return errors.New("you must define at least one Round Robin Archive")
	}
	if len(s.DS) > maxDS || len(s.RRAs) > maxRRA {
		return fmt.Errorf("too many data sources (%d) or archives (%d)", len(s.DS), len(s.RRAs))
	}
	seen := map[string]bool{}
	for _, d := range s.DS {
		if !validName(d.Name) {
			return fmt.Errorf("invalid DS name %q: 1 to 19 characters [a-zA-Z0-9_-]", d.Name)
		}
		if seen[d.Name] {
			return fmt.Errorf("duplicate DS name %q", d.Name)
		}
		seen[d.Name] = true
		if !isDSType(d.Type) {
			return fmt.Errorf("DS %q: unsupported type %q", d.Name, d.Type)
		}
		if d.Heartbeat < 1 {
			return fmt.Errorf("DS %q: heartbeat %d must be at least 1", d.Name, d.Heartbeat)
		}
		if !math.IsNaN(d.Min) && !math.IsNaN(d.Max) && d.Min >= d.Max {
			return fmt.Errorf("DS %q: min must be less than max in DS definition", d.Name)
		}
	}
	for i, r := range s.RRAs {
		if !isCF(r.CF) {
			return fmt.Errorf("RRA %d: unsupported consolidation function %q", i, r.CF)
		}
		if !(r.XFF >= 0 && r.XFF < 1) {
			return fmt.Errorf("RRA %d: invalid xff %v: must be >= 0 and < 1", i, r.XFF)
		}
		if r.Steps < 1 || r.Rows < 1 || r.Rows > 1<<31 || r.Steps > 1<<31 {
			return fmt.Errorf("RRA %d: %d rows of %d steps: both must be at least 1", i, r.Rows, r.Steps)
		}
	}
	return nil
}

// newHeader builds the header of a fresh archive exactly as rrd_create.c
// initialises it: last_ds "U", accumulated value unknown, unknown seconds =
// start % step, every consolidation value unknown with the unknown PDP
// count of the partly elapsed row, current rows chosen at random.
func newHeader(spec Spec, rnd func(n uint64) uint64) *header {
	start := spec.Start.Unix()
	step := uint64(spec.Step)
	version := "0003"
	for _, d := range spec.DS {
		if d.Type == DCounter || d.Type == DDerive {
			version = "0005"
		}
	}
	nds, nrra := len(spec.DS), len(spec.RRAs)
	h := &header{version: version, step: step, lastUp: start}
	raw := make([]byte, headerLen(nds, nrra))
	copy(raw[0:4], "RRD\x00")
	copy(raw[4:9], version+"\x00")
	le.PutUint64(raw[16:], math.Float64bits(floatCookie))
	le.PutUint64(raw[24:], uint64(nds))
	le.PutUint64(raw[32:], uint64(nrra))
	le.PutUint64(raw[40:], step)
	off := int64(statHeadSize)
	nanOr := func(v float64) uint64 {
		if math.IsNaN(v) {
			return unknownBits
		}
		return math.Float64bits(v)
	}
	for _, d := range spec.DS {
		b := raw[off : off+dsDefSize]
		putCString(b[0:nameLen], d.Name)
		putCString(b[nameLen:2*nameLen], d.Type)
		le.PutUint64(b[40:], uint64(d.Heartbeat))
		le.PutUint64(b[48:], nanOr(d.Min))
		le.PutUint64(b[56:], nanOr(d.Max))
		h.ds = append(h.ds, dsDef{name: d.Name, typ: d.Type, heartbeat: uint64(d.Heartbeat),
			min: math.Float64frombits(nanOr(d.Min)), max: math.Float64frombits(nanOr(d.Max))})
		off += dsDefSize
	}
	total := headerLen(nds, nrra)
	for _, r := range spec.RRAs {
		b := raw[off : off+rraDefSize]
		putCString(b[0:nameLen], r.CF)
		le.PutUint64(b[24:], uint64(r.Rows))
		le.PutUint64(b[32:], uint64(r.Steps))
		le.PutUint64(b[40:], math.Float64bits(r.XFF))
		a := rraDef{cf: r.CF, rows: uint64(r.Rows), pdpCnt: uint64(r.Steps), xff: r.XFF}
		a.rawPars[0] = math.Float64bits(r.XFF)
		h.rra = append(h.rra, a)
		h.rraStart = append(h.rraStart, total)
		total += int64(r.Rows) * int64(nds) * 8
		off += rraDefSize
	}
	h.size = total
	h.raw = raw
	h.pdp = make([]pdpPrep, nds)
	for i := range h.pdp {
		h.pdp[i] = pdpPrep{lastDS: "U", unknSec: uint64(start) % step, val: unknownValue}
	}
	h.cdp = make([][10]uint64, nrra*nds)
	h.curRow = make([]uint64, nrra)
	aligned := uint64(start) - uint64(start)%step
	for i, a := range h.rra {
		unkn := (aligned % (step * a.pdpCnt)) / step
		for j := 0; j < nds; j++ {
			c := &h.cdp[i*nds+j]
			c[cdpVal] = unknownBits
			c[cdpUnknPDP] = unkn
		}
		h.curRow[i] = rnd(a.rows)
	}
	return h
}

// Create writes a new archive at path as `rrdtool create` would. It fails
// with ErrExists if the file exists. The file is written to a temporary
// name, synced and renamed into place, so a crash never leaves a partial
// archive under path.
func Create(path string, spec Spec) error {
	if spec.Step == 0 {
		spec.Step = 300
	}
	if spec.Start.IsZero() {
		spec.Start = time.Now().Add(-10 * time.Second)
	}
	if err := spec.validate(); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("create %s: %w", path, ErrExists)
	}
	h := newHeader(spec, func(n uint64) uint64 { return rand.Uint64N(n) })
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(&pageWriter{w: tmp}, 1<<16)
	w.Write(h.encode())
	var nan [8]byte
	le.PutUint64(nan[:], unknownBits)
	for n := (h.size - h.headerLen()) / 8; n > 0; n-- {
		w.Write(nan[:])
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// Link instead of rename: it fails if path appeared in the meantime.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create %s: %w", path, ErrExists)
		}
		return fmt.Errorf("create %s: %w", path, err)
	}
	// The journal is created now, empty and applied, so that updates only
	// ever rewrite it in place (see journal.go).
	if err := os.WriteFile(journalPath(path), []byte(stateApplied), 0o644); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// pageWriter writes to w in page-sized, page-aligned pieces (w is written
// sequentially from offset 0). The page cache sizes a new folio by the
// write that creates it: one 64 KiB write makes a 64 KiB folio, and later
// small updates into a large folio cost about three times as much on ext4
// (ext4_block_write_begin walks every block of the folio; measured with
// 10,000 archives: the writes of one cache flush took 222 ms on 64 KiB
// folios, 89 ms on 4 KiB ones). An archive is updated a few rows at a
// time for its whole life, so it is created a page at a time.
type pageWriter struct {
	w   io.Writer
	off int64
}

func (p *pageWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), pageSize-int(p.off%pageSize))
		m, err := p.w.Write(b[:k])
		n += m
		p.off += int64(m)
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

// pageSize is the unit pageWriter writes in (the page size of the
// platforms Outpost runs on; a larger real page only makes the pieces
// smaller than a page, which is harmless).
const pageSize = 4096

// adviseRandom tells the kernel that f is read at random offsets
// (POSIX_FADV_RANDOM, as librrd does): pages read back after eviction come
// in one page at a time, in small folios, instead of read-ahead into
// large ones (see pageWriter). Advice only: its error is ignored.
func adviseRandom(f *os.File) {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM)
}
