package ingest

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

// brokenBatch is the body of a batch frame whose seq can be read but whose
// rest cannot be decoded: a map announcing two pairs, key 1 (the seq) and
// then a break byte where key 2 should be.
func brokenBatch(seq uint8) []byte { return []byte{0xa2, 0x01, seq, 0xff} }

// TestUndecodableBatchIsRejectedNotResent: a batch the collector cannot
// decode is journaled as rejected, answered with Reject (version 2) and
// Ack, and the agent's next batches flow on the same session; after a
// reconnect, HelloAck counts it as done, so the agent never sends it again.
// A version 1 agent gets the Ack without the Reject.
func TestUndecodableBatchIsRejectedNotResent(t *testing.T) {
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{})
	cert := s.addAgent(t, "edge", "*")
	for _, proto := range []uint16{2, 1} {
		epoch := uint64(epoch1) + uint64(proto)
		a, err := dialTCP(t, s.tcpAddr, s.clientTLS(&cert))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.send(&wire.Hello{Agent: "edge", Software: "test", Proto: proto, Epoch: epoch, FirstSeq: 1, LastSeq: 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.recv(); err != nil {
			t.Fatal(err)
		}
		a.send(testSeries("r1"))
		if err := a.sendRaw(wire.TypeBatch, brokenBatch(1)); err != nil {
			t.Fatal(err)
		}
		got, err := a.batch(testBatch(2, 1_800_000_060, true, "r1", 60))
		if err != nil || got != 2 {
			t.Fatalf("proto %d: ack %d, %v", proto, got, err)
		}
		switch proto {
		case 2:
			if len(a.rejects) != 1 || a.rejects[0].Seq != 1 || !a.rejects[0].Whole || a.rejects[0].Kind != wire.RejectFrame ||
				!strings.Contains(a.rejects[0].Reason, "batch 1: decode batch") {
				t.Fatalf("rejects %+v", a.rejects)
			}
		case 1:
			if len(a.rejects) != 0 {
				t.Fatalf("a version 1 agent got %+v", a.rejects)
			}
		}
		a.close()
		// Reconnect: both batches count as done.
		b, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
		if err != nil {
			t.Fatal(err)
		}
		ack, err := b.hello("edge", epoch, 1, 2)
		if err != nil || ack.AckedSeq != 2 {
			t.Fatalf("proto %d: hello-ack %+v, %v", proto, ack, err)
		}
		b.close()
	}
	var kinds []uint8
	for _, r := range s.journaled(t) {
		kinds = append(kinds, r.Kind)
	}
	if len(kinds) != 4 || kinds[0] != RecordRejected || kinds[1] != RecordBatch || kinds[2] != RecordRejected {
		t.Fatalf("journal kinds %v", kinds)
	}
	if got := counterValue(s.m.Rejected.WithLabelValues(wire.RejectFrame, UnitBatch)); got != 2 {
		t.Fatalf("rejected{frame,batch} = %v", got)
	}
	s.shutdown(t)
	refusals, err := s.db.Refusals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(refusals) != 1 || refusals[0].Kind != inventory.RefusedFrame || refusals[0].Count != 2 ||
		!strings.Contains(refusals[0].LastReason, "decode batch") {
		t.Fatalf("refusals %+v", refusals)
	}
	// The session's other content was applied: the archive exists and holds batch 2.
	if _, err := rrd.ReadInfo(dir + "/rrd/r1/if%3Aeth0.rrd"); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidUTF8IsCleanedAtIngest: series definitions and inventory with
// bytes that are not UTF-8 (what agents spooled before they cleaned device
// strings, issue 15) are accepted, shown escaped, and keep flowing; a
// definition that cannot be used refuses only its own samples.
func TestInvalidUTF8IsCleanedAtIngest(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	cert := s.addAgent(t, "edge", "*")
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge", epoch1, 1, 1); err != nil {
		t.Fatal(err)
	}
	series := testSeries("r1")
	series.Defs[0].Attr = "if:B\xfcro"
	series.Defs[1].Attr = "if:B\xfcro"
	series.Defs = append(series.Defs, wire.SeriesDef{Host: "r1", Attr: "oid:x", DS: "", Kind: sample.Gauge}) // id 4: unusable
	a.send(series)
	b := testBatch(1, 1_800_000_000, true, "r1", 60)
	b.Groups[0].FloatIDs = append(b.Groups[0].FloatIDs, 4)
	b.Groups[0].Floats = append(b.Groups[0].Floats, 1)
	b.Statuses[0].Attr, b.Statuses[0].Reason = "if:B\xfcro", "down \x1b[31m\xe2\x82"
	b.Hosts[0].SysDescr, b.Hosts[0].Location = "Cisco\x00IOS\xff", "B\xfcro <b>2</b>"
	b.Hosts[0].Attrs[0].Key, b.Hosts[0].Attrs[0].Descr = "if:B\xfcro", "ifAlias \xc3\x28"
	got, err := a.batch(b)
	if err != nil || got != 1 {
		t.Fatalf("ack %d, %v", got, err)
	}
	if len(a.rejects) != 1 || a.rejects[0].Kind != wire.RejectFrame || a.rejects[0].Count != 1 ||
		!strings.Contains(a.rejects[0].Reason, "series 4: empty host, attribute or data source") {
		t.Fatalf("rejects %+v", a.rejects)
	}
	recs := s.journaled(t)
	if len(recs) != 1 {
		t.Fatalf("journal %+v", recs)
	}
	r := recs[0]
	if len(r.Updates) != 2 || r.Updates[0].Attr != `if:B\xfcro` || r.Hosts[0].SysDescr != `Cisco\x00IOS\xff` ||
		r.Hosts[0].Location != `B\xfcro <b>2</b>` || r.Statuses[0].Reason != `down \x1b[31m\xe2\x82` ||
		r.Hosts[0].Attrs[0].Descr != `ifAlias \xc3(` {
		t.Fatalf("record %+v", r)
	}
	s.shutdown(t)
	attr, err := s.db.AttributeByKey(context.Background(), "r1", `if:B\xfcro`)
	if err != nil || attr.Status != status.Up || attr.Descr != `ifAlias \xc3(` {
		t.Fatalf("attribute %+v, %v", attr, err)
	}
}

// TestClockSkewRefusesFutureSamples: a sample timed a hundred years
// ahead is refused (counted, the agent's skew recorded) instead of
// moving the archive into the future; samples at the right time before
// and after it still land.
func TestClockSkewRefusesFutureSamples(t *testing.T) {
	dir := t.TempDir()
	base := int64(1_800_000_000)
	var now atomic.Int64 // Unix seconds, read by the collector's goroutines
	s := openStack(t, dir, stackOptions{maxClockSkew: 10 * time.Minute, now: func() time.Time {
		if n := now.Load(); n != 0 {
			return time.Unix(n, 0)
		}
		return time.Time{} // certificate checks then use the real clock
	}})
	cert := s.addAgent(t, "edge", "*")
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge", epoch1, 1, 3); err != nil {
		t.Fatal(err)
	}
	a.send(testSeries("r1"))
	century := int64(100 * 365 * 24 * 3600)
	for seq := uint64(1); seq <= 3; seq++ {
		ts := base + int64(seq)*60
		now.Store(ts + 5)
		b := testBatch(seq, ts, seq == 1, "r1", 60)
		if seq == 2 { // the agent's clock jumped a century ahead for one poll
			b = testBatch(seq, ts+century, false, "r1", 60)
		}
		got, err := a.batch(b)
		if err != nil || got != seq {
			t.Fatalf("batch %d: %d, %v", seq, got, err)
		}
	}
	if len(a.rejects) != 1 || a.rejects[0].Seq != 2 || a.rejects[0].Kind != wire.RejectClockSkew || a.rejects[0].Count != 4 {
		t.Fatalf("rejects %+v", a.rejects)
	}
	a.close()
	s.shutdown(t)
	info, err := rrd.ReadInfo(dir + "/rrd/r1/if%3Aeth0.rrd")
	if err != nil {
		t.Fatal(err)
	}
	if info.LastUpdate.Unix() != base+180 {
		t.Fatalf("archive last update %v, want the third poll", info.LastUpdate)
	}
	skew, err := s.db.ClockSkew(context.Background(), "edge")
	if err != nil {
		t.Fatal(err)
	}
	if want := -time.Duration(century) * time.Second; math.Abs(float64(skew-want)) > float64(time.Minute) {
		t.Fatalf("clock skew %v, want about %v", skew, want)
	}
	refusals, err := s.db.Refusals(context.Background())
	if err != nil || len(refusals) != 1 || refusals[0].Kind != inventory.RefusedClockSkew || refusals[0].Count != 4 {
		t.Fatalf("refusals %+v, %v", refusals, err)
	}
}

// TestContact: the alerting engine's view of an agent: connected while a
// session is up, then the time its last session ended.
func TestContact(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	cert := s.addAgent(t, "edge", "*")
	if up, end := s.srv.Contact("edge"); up || !end.IsZero() {
		t.Fatalf("before: %v %v", up, end)
	}
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge", epoch1, 0, 0); err != nil {
		t.Fatal(err)
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitUntil("connected", func() bool { up, _ := s.srv.Contact("edge"); return up })
	a.close()
	waitUntil("the end of the session", func() bool { up, end := s.srv.Contact("edge"); return !up && !end.IsZero() })
}

// TestImplausibleSeqJumpRefused: a hello or batch whose seq jumps by more
// than any spool could number is refused, and records no absurd drop.
func TestImplausibleSeqJumpRefused(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	cert := s.addAgent(t, "edge", "*")
	a, err := dialTCP(t, s.tcpAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge", epoch1, 1<<63, 1<<63); err == nil {
		t.Fatal("a hello declaring 2^63 dropped batches was accepted")
	}
	b, err := dialTCP(t, s.tcpAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.hello("edge", epoch1, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.batch(&wire.Batch{Seq: 1 << 40}); err == nil {
		t.Fatal("a batch jumping 2^40 seqs was accepted")
	}
	if n := len(s.journaled(t)); n != 0 {
		t.Fatalf("%d records journaled", n)
	}
}
