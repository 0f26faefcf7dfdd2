package rrd

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Update is one reading of every data source at one time, in the file's DS
// order. Time may have a fraction of a second (microseconds are kept).
type Update struct {
	Time   time.Time
	Values []Value
}

// ErrNotNewer is wrapped by the error for an update whose time is not newer
// than the archive's last update (rrdtool's "illegal attempt to update using
// time X when last update time is Y (minimum one second step)").
var ErrNotNewer = errors.New("not newer than the last update")

// notNewerError carries rrdtool's exact message and unwraps to ErrNotNewer.
type notNewerError struct{ t, last int64 }

func (e *notNewerError) Error() string {
	return fmt.Sprintf("illegal attempt to update using time %d when last update time is %d (minimum one second step)", e.t, e.last)
}
func (e *notNewerError) Unwrap() error { return ErrNotNewer }

// splitTime returns seconds and microseconds as rrdtool keeps them.
func splitTime(t time.Time) (int64, int64) {
	return t.Unix(), int64(t.Nanosecond() / 1000)
}

// checkNewer returns the rrdtool error when (sec, usec) is not after the
// last update.
func checkNewer(sec, usec, lastSec, lastUsec int64) error {
	if sec < lastSec || (sec == lastSec && usec <= lastUsec) {
		return &notNewerError{t: sec, last: lastSec}
	}
	return nil
}

// session applies updates to a header in memory and collects the rows they
// write. Nothing touches the file until commit.
type session struct {
	h       *header
	dirty   []dirtyRows // per archive
	pdpNew  []float64
	pdpTemp []float64
	openNew []float64
	stepCnt []uint64
	changed bool
}

func newSession(h *header) *session {
	n := len(h.ds)
	return &session{
		h:       h,
		dirty:   make([]dirtyRows, len(h.rra)),
		pdpNew:  make([]float64, n),
		pdpTemp: make([]float64, n),
		openNew: make([]float64, n),
		stepCnt: make([]uint64, len(h.rra)),
	}
}

// apply runs one update through rrdtool's algorithm (process_arg in
// rrd_update.c). On an error other than ErrNotNewer the header may hold
// partial changes of the failed update (earlier data sources' last values),
// exactly as rrdtool's memory-mapped update leaves them.
func (s *session) apply(u Update) error {
	h := s.h
	if len(u.Values) != len(h.ds) {
		return fmt.Errorf("expected %d data source readings (got %d)", len(h.ds), len(u.Values))
	}
	sec, usec := splitTime(u.Time)
	if err := checkNewer(sec, usec, h.lastUp, h.lastUsec); err != nil {
		return err
	}
	s.changed = true
	interval := float64(sec-h.lastUp) + float64(usec-h.lastUsec)/1e6
	if err := s.preparePDP(u.Values, interval); err != nil {
		return err
	}
	// calculate_elapsed_steps
	step := h.step
	procSt := uint64(h.lastUp) - uint64(h.lastUp)%step
	occuAge := uint64(sec) % step
	occuSt := uint64(sec) - occuAge
	var preInt, postInt float64
	if occuSt > procSt {
		preInt = float64(int64(occuSt) - h.lastUp)
		preInt -= float64(h.lastUsec) / 1e6
		postInt = float64(occuAge) + float64(usec)/1e6
	} else {
		preInt = interval
	}
	procPdpCnt := procSt / step
	elapsed := (occuSt - procSt) / step
	if elapsed == 0 {
		s.simpleUpdate(interval)
	} else {
		if elapsed > 1 {
			if secOpen := uint64(preInt) % step; secOpen > 0 {
				// The leftmost step was partly open: close it on its own.
				for i := range h.ds {
					if !math.IsNaN(s.pdpNew[i]) && interval > 0 {
						s.openNew[i] = s.pdpNew[i] * float64(secOpen) / interval
						s.pdpNew[i] -= s.openNew[i]
					} else {
						s.openNew[i] = unknownValue
					}
				}
				s.processPDPs(float64(secOpen), float64(secOpen), 0, 1, s.openNew)
				s.updateCDPs(1, procPdpCnt)
				s.writeRows()
				interval -= float64(secOpen)
				preInt -= float64(secOpen)
				elapsed--
				procPdpCnt++
			}
		}
		s.processPDPs(interval, preInt, postInt, elapsed, s.pdpNew)
		s.updateCDPs(elapsed, procPdpCnt)
		s.writeRows()
	}
	h.lastUp, h.lastUsec = sec, usec
	return nil
}

// preparePDP is update_pdp_prep: the amount (rate x seconds) each reading
// adds, with heartbeat and min/max applied.
func (s *session) preparePDP(vals []Value, interval float64) error {
	h := s.h
	for i := range h.ds {
		d := &h.ds[i]
		p := &h.pdp[i]
		if float64(d.heartbeat) < interval {
			p.setText("U")
		}
		v := vals[i]
		pdp := unknownValue
		if v.kind != kindUnknown && float64(d.heartbeat) >= interval {
			rate := math.NaN()
			switch d.typ {
			case Counter, Derive:
				if !v.isInteger() || (d.typ == Counter && (v.kind == kindInt || (v.kind == kindText && v.text[0] == '-'))) {
					sign := "unsigned"
					if d.typ == Derive {
						sign = "signed"
					}
					return fmt.Errorf("not a simple %s integer: '%s'", sign, v.String())
				}
				if !p.lastUnknown() {
					if p.lastIsU && v.kind == kindUint {
						pdp = subExact(v.u, p.lastU)
					} else {
						pdp = decimalDiff(v, p.text())
					}
					if d.typ == Counter {
						if pdp < 0 {
							pdp += 4294967295.0 // 2^32-1, as rrdtool does
						}
						if pdp < 0 {
							pdp += 18446744069414584320.0 // 2^64-2^32
						}
					}
					rate = pdp / interval
				}
			case Absolute:
				if err := v.check("DST_ABSOLUTE"); err != nil {
					return err
				}
				pdp = v.float()
				rate = pdp / interval
			case Gauge:
				if err := v.check("DST_GAUGE"); err != nil {
					return err
				}
				f := v.float()
				pdp = f * interval
				rate = f
			case DCounter, DDerive:
				if !p.lastUnknown() {
					where := "DST_" + d.typ
					if err := v.check(where); err != nil {
						return err
					}
					newV := v.float()
					oldV, err := TextValue(p.text()).checkedFloat(where)
					if err != nil {
						return err
					}
					if d.typ == DCounter && ((newV > 0 && oldV > newV) || (newV < 0 && newV > oldV)) {
						pdp = unknownValue // a change of direction is a reset
						break
					}
					pdp = newV - oldV
					rate = pdp / interval
				}
			}
			if !math.IsNaN(rate) && ((!math.IsNaN(d.max) && rate > d.max) || (!math.IsNaN(d.min) && rate < d.min)) {
				pdp = unknownValue
			}
		}
		s.pdpNew[i] = pdp
		if v.kind == kindUint && v.text == "" {
			p.lastU, p.lastIsU = v.u, true // formatted only when written
			continue
		}
		t := v.String()
		if len(t) > lastDSLen-1 {
			t = t[:lastDSLen-1]
		}
		p.setText(t)
	}
	return nil
}

// check returns rrd_strtodbl's error for a reading that is not a number.
func (v Value) check(where string) error {
	_, err := v.checkedFloat(where)
	return err
}

func (v Value) checkedFloat(where string) (float64, error) {
	if v.kind != kindBad {
		return v.float(), nil
	}
	f, n := rrdStrtod(v.text)
	if n == 0 {
		//lint:ignore ST1005 rrdtool's own message, kept verbatim (tests compare with rrdtool)
		return 0, fmt.Errorf("Function update_pdp_prep, case %s - Cannot convert '%s' to float", where, v.text)
	}
	//lint:ignore ST1005 rrdtool's own message, kept verbatim (tests compare with rrdtool)
	return 0, fmt.Errorf("Function update_pdp_prep, case %s - Converted '%s' to %f, but cannot convert '%s'", where, v.text, f, v.text[n:])
}

// simpleUpdate is simple_update: no step boundary was crossed.
func (s *session) simpleUpdate(interval float64) {
	for i := range s.h.pdp {
		p := &s.h.pdp[i]
		if math.IsNaN(s.pdpNew[i]) {
			p.unknSec = uint64(float64(p.unknSec) + math.Floor(interval))
		} else if math.IsNaN(p.val) {
			p.val = s.pdpNew[i]
		} else {
			p.val += s.pdpNew[i]
		}
	}
}

// processPDPs is process_all_pdp_st / process_pdp_st: close the step(s),
// computing each DS's primary data point into pdpTemp, and carry the rest
// of the interval over.
func (s *session) processPDPs(interval, preInt, postInt float64, elapsed uint64, pdpNew []float64) {
	h := s.h
	diffSt := elapsed * h.step
	for i := range h.ds {
		p := &h.pdp[i]
		preUnknown := 0.0
		if math.IsNaN(pdpNew[i]) {
			preUnknown = preInt
		} else {
			if math.IsNaN(p.val) {
				p.val = 0
			}
			p.val += pdpNew[i] / interval * preInt
		}
		if interval > float64(h.ds[i].heartbeat) || float64(h.step)/2.0 < float64(int32(p.unknSec)) {
			s.pdpTemp[i] = unknownValue
		} else {
			s.pdpTemp[i] = p.val / (float64(diffSt-p.unknSec) - preUnknown)
		}
		if math.IsNaN(pdpNew[i]) {
			p.unknSec = uint64(math.Floor(postInt))
			p.val = unknownValue
		} else {
			p.unknSec = 0
			p.val = pdpNew[i] / interval * postInt
		}
	}
}

// updateCDPs is update_all_cdp_prep with update_cdp (and, for one-step
// archives, what update_aberrant_cdps and reset_cdp do): consolidate the
// new PDP into every archive and decide how many rows each gets.
func (s *session) updateCDPs(elapsed, procPdpCnt uint64) {
	h := s.h
	nds := len(h.ds)
	for r := range h.rra {
		a := &h.rra[r]
		startOff := a.pdpCnt - procPdpCnt%a.pdpCnt
		if startOff <= elapsed {
			s.stepCnt[r] = min((elapsed-startOff)/a.pdpCnt+1, a.rows)
		} else {
			s.stepCnt[r] = 0
		}
		for d := 0; d < nds; d++ {
			c := &h.cdp[r*nds+d]
			pdp := s.pdpTemp[d]
			if a.pdpCnt == 1 {
				// update_aberrant_cdps sets primary (and secondary when two
				// steps passed); reset_cdp sets both for longer gaps.
				c[cdpPrimary] = math.Float64bits(pdp)
				if elapsed >= 2 {
					c[cdpSecondary] = math.Float64bits(pdp)
				}
				continue
			}
			updateCDP(c, a.cf, pdp, s.stepCnt[r], elapsed, startOff, a.pdpCnt, a.xff)
		}
	}
}

func f64(b uint64) float64  { return math.Float64frombits(b) }
func bits(f float64) uint64 { return math.Float64bits(f) }

// updateCDP is update_cdp in rrd_update.c.
func updateCDP(c *[10]uint64, cf string, pdp float64, rowCnt, elapsed, startOff, pdpCnt uint64, xff float64) {
	if rowCnt > 0 {
		if math.IsNaN(pdp) {
			c[cdpUnknPDP] += startOff
			c[cdpSecondary] = unknownBits
		} else {
			c[cdpSecondary] = bits(pdp)
		}
		if float64(c[cdpUnknPDP]) > float64(pdpCnt)*xff {
			c[cdpPrimary] = unknownBits
		} else {
			cum := f64(c[cdpVal])
			switch cf {
			case Average:
				if math.IsNaN(cum) {
					cum = 0
				}
				cur := pdp
				if math.IsNaN(cur) {
					cur = 0
				}
				c[cdpPrimary] = bits((cum + cur*float64(startOff)) / float64(pdpCnt-c[cdpUnknPDP]))
			case Max:
				if math.IsNaN(cum) {
					cum = math.Inf(-1)
				}
				cur := pdp
				if math.IsNaN(cur) {
					cur = math.Inf(-1)
				}
				if cur > cum {
					c[cdpPrimary] = bits(cur)
				} else {
					c[cdpPrimary] = bits(cum)
				}
			case Min:
				if math.IsNaN(cum) {
					cum = math.Inf(1)
				}
				cur := pdp
				if math.IsNaN(cur) {
					cur = math.Inf(1)
				}
				if cur < cum {
					c[cdpPrimary] = bits(cur)
				} else {
					c[cdpPrimary] = bits(cum)
				}
			default:
				c[cdpPrimary] = bits(pdp)
			}
		}
		// initialize_carry_over
		into := (elapsed - startOff) % pdpCnt
		var carry float64
		if into == 0 || math.IsNaN(pdp) {
			switch cf {
			case Max:
				carry = math.Inf(-1)
			case Min:
				carry = math.Inf(1)
			case Average:
				carry = 0
			default:
				carry = unknownValue
			}
		} else if cf == Average {
			carry = pdp * float64(into)
		} else {
			carry = pdp
		}
		c[cdpVal] = bits(carry)
		if math.IsNaN(pdp) {
			c[cdpUnknPDP] = into
		} else {
			c[cdpUnknPDP] = 0
		}
		return
	}
	if math.IsNaN(pdp) {
		c[cdpUnknPDP] += elapsed
		return
	}
	// calculate_cdp_val
	cdp := f64(c[cdpVal])
	switch {
	case math.IsNaN(cdp):
		if cf == Average {
			cdp = pdp * float64(elapsed)
		} else {
			cdp = pdp
		}
	case cf == Average:
		cdp += pdp * float64(elapsed)
	case cf == Min:
		if pdp < cdp {
			cdp = pdp
		}
	case cf == Max:
		if pdp > cdp {
			cdp = pdp
		}
	default:
		cdp = pdp
	}
	c[cdpVal] = bits(cdp)
}

// writeRows is write_to_rras: advance each archive's current row once per
// row due, the first getting the primary value and the rest the secondary.
func (s *session) writeRows() {
	h := s.h
	nds := len(h.ds)
	for r := range h.rra {
		idx := cdpPrimary
		for n := s.stepCnt[r]; n > 0; n-- {
			h.curRow[r]++
			if h.curRow[r] >= h.rra[r].rows {
				h.curRow[r] = 0
			}
			row := s.row(r, h.curRow[r], nds)
			for d := 0; d < nds; d++ {
				row[d] = f64(h.cdp[r*nds+d][idx])
			}
			idx = cdpSecondary
		}
		s.stepCnt[r] = 0
	}
}

// dirtyRows are the rows of one archive a session wrote. An update
// advances an archive's current row one at a time around the ring, so
// they are n consecutive rows (modulo the ring) from first, and vals holds
// them in that order, nds values per row.
type dirtyRows struct {
	first, n uint64
	vals     []float64
}

// row returns the buffered values of row number idx of archive r, the
// current row after an advance: either a row already written in this
// session (the ring came round) or the one after the last.
func (s *session) row(r int, idx uint64, nds int) []float64 {
	d := &s.dirty[r]
	rows := s.h.rra[r].rows
	if d.n == 0 {
		d.first = idx
	}
	k := (idx + rows - d.first) % rows
	if k == d.n {
		if d.vals == nil {
			d.vals = make([]float64, 0, 16*nds)
		}
		d.vals = append(d.vals, make([]float64, nds)...)
		d.n++
	}
	return d.vals[int(k)*nds : int(k+1)*nds]
}

// extent is one contiguous write: bytes at a file offset.
type extent struct {
	off  int64
	data []byte
}

// extents returns the changed part of the header and the dirty rows as
// contiguous writes in file order, adjacent rows merged. The header comes
// first.
func (s *session) extents() []extent {
	h := s.h
	nds := len(h.ds)
	// The header from its live part on: the static head and the DS and
	// RRA definitions never change in an update (1.7 KB of the baseline's
	// 5.8 KB header).
	live := h.offLive()
	out := []extent{{off: live, data: h.encode()[live:]}}
	var n uint64
	for r := range s.dirty {
		n += s.dirty[r].n
	}
	buf := make([]byte, 0, int(n)*nds*8) // every row's bytes, one allocation
	// add appends rows [from, to) of the ring of archive r, k rows into
	// the session's order, merged with the previous extent if adjacent.
	add := func(r int, from, to, k uint64) {
		if from == to {
			return
		}
		off := h.rowOffset(r, from)
		start := len(buf)
		for i := k; i < k+to-from; i++ {
			buf = appendRow(buf, s.dirty[r].vals[int(i)*nds:int(i+1)*nds])
		}
		last := &out[len(out)-1]
		if len(out) > 1 && last.off+int64(len(last.data)) == off {
			last.data = buf[len(buf)-len(last.data)-(len(buf)-start):]
			return
		}
		out = append(out, extent{off: off, data: buf[start:len(buf):len(buf)]})
	}
	for r := range s.dirty {
		d := &s.dirty[r]
		if d.n == 0 {
			continue
		}
		rows := h.rra[r].rows
		if d.first+d.n <= rows {
			add(r, d.first, d.first+d.n, 0)
			continue
		}
		// Wrapped: rows 0.. come later in the session but first in the file.
		head := rows - d.first
		add(r, 0, d.n-head, head)
		add(r, d.first, rows, 0)
	}
	return out
}

func appendRow(b []byte, vals []float64) []byte {
	for _, v := range vals {
		bits := math.Float64bits(v)
		if math.IsNaN(v) {
			bits = unknownBits
		}
		b = le.AppendUint64(b, bits)
	}
	return b
}

// UpdateFile applies updates to the archive at path in order, like
// `rrdtool update path T:v... T:v...`: it stops at the first bad update and
// keeps the ones before it (and, as rrdtool does, any last values the bad
// one had already recorded). The returned error is
// "<path>: <rrdtool's message>"; a time not newer than the last update
// wraps ErrNotNewer. The whole call is applied atomically on disk through a
// journal (see the package doc) and is durable when it returns.
func UpdateFile(path string, updates []Update) error {
	return updateFile(path, updates, true)
}

// updateFile is UpdateFile; without sync the order of the journal and the
// in-place writes is kept but not forced to stable storage (safe against a
// process crash, not against power loss).
func updateFile(path string, updates []Update, sync bool) error {
	w, err := openForWrite(path)
	if err != nil {
		return fmt.Errorf("update %w", err)
	}
	defer w.close()
	s := newSession(w.h)
	var applyErr error
	for _, u := range updates {
		if applyErr = s.apply(u); applyErr != nil {
			break
		}
	}
	if s.changed {
		if err := w.commit(s.extents(), sync); err != nil {
			return fmt.Errorf("update %s: %w", path, err)
		}
	}
	if applyErr != nil {
		return fmt.Errorf("%s: %w", path, applyErr)
	}
	return nil
}
