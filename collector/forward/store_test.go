package forward

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// gotSeries is one decoded TimeSeries.
type gotSeries struct {
	labels []Label
	points []Point
}

func (g gotSeries) key() string { return seriesText(&Series{Labels: g.labels}) }

func (g gotSeries) label(name string) string {
	for _, l := range g.labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// decodeWriteRequest decodes a snappy-compressed remote-write 1.0 body.
func decodeWriteRequest(body []byte) ([]gotSeries, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	var out []gotSeries
	err = fields(raw, func(num protowire.Number, b []byte, _ uint64) error {
		if num != 1 {
			return fmt.Errorf("WriteRequest field %d", num)
		}
		var ts gotSeries
		err := fields(b, func(num protowire.Number, b []byte, _ uint64) error {
			if num == 1 {
				var l Label
				err := fields(b, func(num protowire.Number, b []byte, _ uint64) error {
					if num == 1 {
						l.Name = string(b)
					} else {
						l.Value = string(b)
					}
					return nil
				})
				ts.labels = append(ts.labels, l)
				return err
			}
			if num == 2 {
				var p Point
				err := fields(b, func(num protowire.Number, b []byte, v uint64) error {
					if num == 1 {
						p.V = math.Float64frombits(v)
					} else {
						p.T = int64(v)
					}
					return nil
				})
				ts.points = append(ts.points, p)
				return err
			}
			return fmt.Errorf("TimeSeries field %d", num)
		})
		out = append(out, ts)
		return err
	})
	return out, err
}

// fields walks protobuf fields, handing bytes fields as b and fixed64 or
// varint fields as v.
func fields(b []byte, fn func(protowire.Number, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v uint64
		var sub []byte
		switch typ {
		case protowire.BytesType:
			sub, n = protowire.ConsumeBytes(b)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		default:
			return fmt.Errorf("wire type %d", typ)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, sub, v); err != nil {
			return err
		}
	}
	return nil
}

// fakeStore is a remote-write receiver whose answer a test decides.
type fakeStore struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	series   map[string]*gotSeries // accepted, by labels
	requests int                   // requests with samples
	probes   int                   // empty requests
	probe    func() (int, string)  // answer to an empty request; nil: 204
	// answer, when set, decides the response to a decoded request:
	// status 0 or 2xx accepts it.
	answer func(n int, req []gotSeries) (int, string)
	// refuseOld makes the store answer a sample not newer than its
	// series' last with 400 "out of order sample" and keep none of the
	// request, as Prometheus does; otherwise such a sample fails the test.
	refuseOld bool
	// commitThenHang, when set, is called after the n-th request was
	// committed, before it is answered: the store stalls there until it returns.
	commitThenHang func(n int)
}

func newFakeStore(t *testing.T) *fakeStore {
	s := &fakeStore{t: t, series: map[string]*gotSeries{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *fakeStore) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
		http.Error(w, "bad headers", http.StatusBadRequest)
		return
	}
	req, err := decodeWriteRequest(body)
	if err != nil {
		s.t.Errorf("store: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(req) == 0 {
		// The forwarder's start-up probe: answered unless probe says otherwise.
		s.mu.Lock()
		s.probes++
		probe := s.probe
		s.mu.Unlock()
		if probe != nil {
			if code, msg := probe(); code != 0 {
				http.Error(w, msg, code)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.mu.Lock()
	s.requests++
	n := s.requests
	answer := s.answer
	s.mu.Unlock()
	if answer != nil {
		if code, msg := answer(n, req); code != 0 && code/100 != 2 {
			http.Error(w, msg, code)
			return
		}
	}
	if r.Context().Err() != nil {
		return // the client gave up: a store aborts the request
	}
	s.mu.Lock()
	if s.refuseOld {
		for _, ts := range req {
			if g := s.series[ts.key()]; g != nil && len(g.points) > 0 && len(ts.points) > 0 && ts.points[0].T <= g.points[len(g.points)-1].T {
				s.mu.Unlock()
				http.Error(w, "out of order sample", http.StatusBadRequest)
				return
			}
		}
	}
	defer func() {
		hang := s.commitThenHang
		s.mu.Unlock()
		if hang != nil {
			hang(n)
		}
	}()
	for _, ts := range req {
		k := ts.key()
		g := s.series[k]
		if g == nil {
			g = &gotSeries{labels: ts.labels}
			s.series[k] = g
		}
		for _, p := range ts.points {
			if len(g.points) > 0 && p.T <= g.points[len(g.points)-1].T {
				s.t.Errorf("store: out of order sample for %s: %d after %d", k, p.T, g.points[len(g.points)-1].T)
			}
			g.points = append(g.points, p)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// samples returns the number of samples accepted.
func (s *fakeStore) samples() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.series {
		n += len(g.points)
	}
	return n
}

// dump returns every accepted sample as sorted text lines.
func (s *fakeStore) dump() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	for k, g := range s.series {
		for _, p := range g.points {
			lines = append(lines, fmt.Sprintf("{%s} %d %g", k, p.T, p.V))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}
