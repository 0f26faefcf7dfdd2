package ingest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/quic-go/quic-go"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/rrd"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/wire"
)

const epoch1 = 0xfeedface

func TestHelloBatchAckDedupeAndApply(t *testing.T) {
	for _, transport := range []string{"quic", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			s := openStack(t, t.TempDir(), stackOptions{})
			cert := s.addAgent(t, "edge1", "r*", "sw-*")
			dial := dialQUIC
			addr := s.quicAddr
			if transport == "tcp" {
				dial, addr = dialTCP, s.tcpAddr
			}
			a, err := dial(t, addr, s.clientTLS(&cert))
			if err != nil {
				t.Fatal(err)
			}
			ack, err := a.hello("edge1", epoch1, 1, 3)
			if err != nil {
				t.Fatal(err)
			}
			if ack.AckedSeq != 0 || ack.Epoch != epoch1 || ack.Collector != "test-collector" || strings.Join(ack.Hosts, ",") != "r*,sw-*" {
				t.Fatalf("hello-ack %+v", ack)
			}
			if err := a.send(testSeries("r1")); err != nil {
				t.Fatal(err)
			}
			base := int64(1_800_000_000)
			for seq := uint64(1); seq <= 3; seq++ {
				got, err := a.batch(testBatch(seq, base+int64(seq)*60, seq == 1, "r1", 60))
				if err != nil || got != seq {
					t.Fatalf("batch %d: ack %d, %v", seq, got, err)
				}
			}
			// A resend of an acked batch is re-acked with the watermark and not journaled again.
			if got, err := a.batch(testBatch(2, base+120, false, "r1", 60)); err != nil || got != 3 {
				t.Fatalf("duplicate batch: ack %d, %v", got, err)
			}
			recs := s.journaled(t)
			if len(recs) != 3 {
				t.Fatalf("journal holds %d records, want 3", len(recs))
			}
			r := recs[0]
			if r.Agent != "edge1" || r.Epoch != epoch1 || r.Seq != 1 || len(r.Updates) != 2 || len(r.Hosts) != 1 {
				t.Fatalf("record 1: %+v", r)
			}
			u := r.Updates[0]
			if u.Host != "r1" || u.Attr != "if:eth0" || len(u.Values) != 2 || u.Values[0].DS != "in_octets" || u.Values[0].Uint != uint64(base+60)*1000 {
				t.Fatalf("record 1 update: %+v", u)
			}
			if got := counterValue(s.m.Duplicates); got != 1 {
				t.Fatalf("duplicates metric %v", got)
			}
			a.close()
			s.shutdown(t)

			// Applied: inventory rows, a status change, archives holding each sample once.
			ctx := context.Background()
			attr, err := s.db.AttributeByKey(ctx, "r1", "if:eth0")
			if err != nil {
				t.Fatal(err)
			}
			if attr.Status != status.Up || attr.Archive != "rrd/r1/if%3Aeth0.rrd" || len(attr.DS) != 2 {
				t.Fatalf("attribute %+v", attr)
			}
			var changes int
			s.db.Reader().QueryRow(`SELECT count(*) FROM status_events`).Scan(&changes)
			if changes != 1 {
				t.Fatalf("status_events = %d, want 1 (Unknown -> Up once)", changes)
			}
			res, err := rrd.Fetch(s.dir+"/rrd/r1/host.rrd", rrd.Average, time.Unix(base+60, 0), time.Unix(base+180, 0), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			var known []float64
			for _, row := range res.Rows {
				if v := row[0]; v == v {
					known = append(known, v)
				}
			}
			if len(known) != 2 || math.Abs(known[0]-0.12) > 1e-9 || math.Abs(known[1]-0.18) > 1e-9 {
				t.Fatalf("host.rrd rtt rows %v (known %v), want [0.12 0.18] for the polls at +120 and +180", res.Rows, known)
			}
			if got := counterValue(s.m.RRDUpdates); got != 6 {
				t.Fatalf("rrd updates %v, want 6 (2 attributes x 3 polls)", got)
			}
			st, err := s.db.LoadStreams(ctx)
			if err != nil || st["edge1"].AckedSeq != 3 || st["edge1"].Epoch != epoch1 {
				t.Fatalf("stored stream %+v, %v", st["edge1"], err)
			}
		})
	}
}

// expectRefusedQUIC checks that a QUIC agent is refused: the dial, the
// hello or the first read fails.
func expectRefused(t *testing.T, a *agentConn, dialErr error, name string) error {
	t.Helper()
	if dialErr != nil {
		return dialErr
	}
	a.rw.(interface{ SetReadDeadline(time.Time) error }).SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := a.hello(name, epoch1, 0, 0)
	if err == nil {
		t.Fatalf("agent %s was accepted", name)
	}
	return err
}

func otherCACert(t *testing.T, name string) tls.Certificate {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "evil CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

func TestRefusedAgents(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	good := s.addAgent(t, "good", "*")
	revoked := s.addAgent(t, "gone", "*")
	if err := s.db.RevokeAgent(context.Background(), "gone", time.Now()); err != nil {
		t.Fatal(err)
	}
	// A certificate from this CA for a name never registered.
	iss, key, _ := s.ca.IssueAgentKey("stranger", time.Now(), 0)
	stranger, _ := tls.X509KeyPair(iss.CertPEM, key)
	// A re-issued agent: the old certificate is retired.
	old := s.addAgent(t, "reissued", "*")
	s.addAgent(t, "reissued", "*")
	evil := otherCACert(t, "good")

	cases := []struct {
		name    string
		cert    *tls.Certificate
		hello   string
		wantLog string
	}{
		{"no certificate", nil, "good", "no client certificate"},
		{"another CA", &evil, "good", "not issued by this collector's CA"},
		{"revoked", &revoked, "gone", `agent \"gone\" is revoked`},
		{"unknown agent", &stranger, "stranger", `unknown agent \"stranger\"`},
		{"retired certificate", &old, "reissued", "is not the agent's current certificate"},
		{"hello name mismatch", &good, "someone-else", `hello names agent \"someone-else\" but the certificate is \"good\"`},
	}
	for _, tc := range cases {
		for _, transport := range []string{"quic", "tcp"} {
			t.Run(tc.name+"/"+transport, func(t *testing.T) {
				mark := s.log.mark()
				conf := s.clientTLS(tc.cert)
				if tc.cert != nil && tc.name == "another CA" {
					// Force the foreign certificate even though its issuer is not in the CA list.
					c := *tc.cert
					conf.Certificates = nil
					conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
				}
				var a *agentConn
				var err error
				if transport == "quic" {
					a, err = dialQUIC(t, s.quicAddr, conf)
				} else {
					a, err = dialTCP(t, s.tcpAddr, conf)
				}
				err = expectRefused(t, a, err, tc.hello)
				t.Logf("client saw: %v", err)
				s.log.waitLogSince(t, mark, tc.wantLog)
			})
		}
	}
	// The mismatch is reported to the agent as an Error message on TCP.
	a, err := dialTCP(t, s.tcpAddr, s.clientTLS(&good))
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.hello("other", epoch1, 0, 0)
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.ErrCodeUnauthorized {
		t.Fatalf("hello mismatch: %v, want a wire error with code %d", err, wire.ErrCodeUnauthorized)
	}
	// And the good agent still gets in.
	a, err = dialQUIC(t, s.quicAddr, s.clientTLS(&good))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("good", epoch1, 0, 0); err != nil {
		t.Fatalf("good agent refused: %v", err)
	}
	if got := counterValue(s.m.Refused.WithLabelValues("unauthorized")); got < 10 {
		t.Fatalf("refused{unauthorized} = %v", got)
	}
}

func TestRevokeRefusesNextHandshakeAndEndsSessions(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{recheck: time.Nanosecond})
	cert := s.addAgent(t, "edge", "*")
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge", epoch1, 1, 2); err != nil {
		t.Fatal(err)
	}
	a.send(testSeries("r1"))
	if _, err := a.batch(testBatch(1, 1_800_000_000, false, "r1", 60)); err != nil {
		t.Fatal(err)
	}
	if err := s.db.RevokeAgent(context.Background(), "edge", time.Now()); err != nil {
		t.Fatal(err)
	}
	// The live session is refused before its next batch is stored.
	_, err = a.batch(testBatch(2, 1_800_000_060, false, "r1", 60))
	var we *wire.Error
	var ae *quic.ApplicationError
	if !(errors.As(err, &we) && we.Code == wire.ErrCodeUnauthorized) && !(errors.As(err, &ae) && ae.ErrorCode == quic.ApplicationErrorCode(wire.ErrCodeUnauthorized)) {
		t.Fatalf("batch after revocation: %v", err)
	}
	// And a new handshake fails.
	b, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err = expectRefused(t, b, err, "edge"); err == nil {
		t.Fatal("revoked agent accepted")
	}
	s.log.waitLog(t, `agent \"edge\" is revoked`)
	if n := len(s.journaled(t)); n != 1 {
		t.Fatalf("journal holds %d records, want only the batch before the revocation", n)
	}
}

// A batch that names a host outside the agent's patterns keeps the parts
// for its own hosts: only the foreign host's samples, statuses and
// inventory are refused (counted, recorded, answered with Reject).
func TestForbiddenHostPartRefused(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	cert := s.addAgent(t, "edge", "r*")
	tests := []struct {
		name  string
		batch func() *wire.Batch
	}{
		{"sample", func() *wire.Batch { return testBatch(1, 1_800_000_000, false, "r1", 60) }},
		{"status", func() *wire.Batch {
			b := testBatch(1, 1_800_000_000, false, "r1", 60)
			b.Groups = nil
			b.Statuses[0].Host = "core1"
			return b
		}},
		{"inventory", func() *wire.Batch {
			b := testBatch(1, 1_800_000_000, false, "r1", 60)
			b.Groups, b.Statuses = nil, nil
			b.Hosts = []wire.Host{testHost("core1", 60)}
			return b
		}},
	}
	for i, tc := range tests {
		seq := uint64(i + 1)
		t.Run(tc.name, func(t *testing.T) {
			a, err := dialTCP(t, s.tcpAddr, s.clientTLS(&cert))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.hello("edge", epoch1, seq, seq); err != nil {
				t.Fatal(err)
			}
			series := testSeries("core1")
			series.Defs = append(series.Defs, testSeries("r1").Defs...)
			series.First = 0
			// ids 0-2: core1; ids 3-5: r1. The sample case names core1 through id 1.
			if err := a.send(series); err != nil {
				t.Fatal(err)
			}
			b := tc.batch()
			b.Seq = seq
			got, err := a.batch(b)
			if err != nil || got != seq {
				t.Fatalf("batch: ack %d, %v; want ack %d (the forbidden part refused, the session kept)", got, err, seq)
			}
			if len(a.rejects) != 1 || a.rejects[0].Kind != wire.RejectHost || a.rejects[0].Whole || a.rejects[0].Seq != seq ||
				!strings.Contains(a.rejects[0].Reason, `names host "core1", which agent edge is not assigned`) {
				t.Fatalf("rejects %+v", a.rejects)
			}
			s.log.waitLog(t, `names host \"core1\", which agent edge is not assigned`)
		})
	}
	// Nothing of core1 was journaled; r1's samples were.
	for _, r := range s.journaled(t) {
		for _, h := range r.HostNames() {
			if h != "r1" {
				t.Fatalf("journaled host %q: %+v", h, r)
			}
		}
		if len(r.Refusals) == 0 || r.Refusals[0].Kind != wire.RejectHost {
			t.Fatalf("record without its refusal: %+v", r)
		}
	}
	s.shutdown(t) // applies and checkpoints
	refusals, err := s.db.Refusals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// sample: ids 1 and 2 name core1 (id 3 names r1, kept); status: one;
	// inventory: one host.
	if len(refusals) != 1 || refusals[0].Agent != "edge" || refusals[0].Kind != inventory.RefusedHost || refusals[0].Count != 4 {
		t.Fatalf("refusals %+v", refusals)
	}
	if got := counterValue(s.m.Rejected.WithLabelValues(wire.RejectHost, UnitHost)); got != 1 {
		t.Fatalf("rejected{host,host} = %v", got)
	}
}

func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{maxFrame: 64 << 10})
	goodCert := s.addAgent(t, "steady", "*")
	badCert := s.addAgent(t, "noisy", "*")
	good, err := dialQUIC(t, s.quicAddr, s.clientTLS(&goodCert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.hello("steady", epoch1, 1, 100); err != nil {
		t.Fatal(err)
	}
	good.send(testSeries("r1"))
	seq := uint64(1)
	sendGood := func() {
		t.Helper()
		if got, err := good.batch(testBatch(seq, 1_800_000_000+int64(seq)*60, false, "r1", 60)); err != nil || got != seq {
			t.Fatalf("steady agent batch %d: %d, %v", seq, got, err)
		}
		seq++
	}
	sendGood()

	bad := []struct {
		name  string
		frame []byte
		log   string
	}{
		{"oversized", binary.BigEndian.AppendUint32(nil, 100<<20), "frame larger than the limit"},
		{"malformed cbor", append(binary.BigEndian.AppendUint32(nil, 4), byte(wire.TypeBatch), 0x9f, 0xff, 0xff), "malformed batch frame"},
		{"unknown type", append(binary.BigEndian.AppendUint32(nil, 2), 99, 0x80), "unexpected type(99) message"},
		{"empty", binary.BigEndian.AppendUint32(nil, 0), "frame has no type byte"},
	}
	for _, tc := range bad {
		for _, transport := range []string{"quic", "tcp"} {
			t.Run(tc.name+"/"+transport, func(t *testing.T) {
				var a *agentConn
				var err error
				if transport == "quic" {
					a, err = dialQUIC(t, s.quicAddr, s.clientTLS(&badCert))
				} else {
					a, err = dialTCP(t, s.tcpAddr, s.clientTLS(&badCert))
				}
				if err != nil {
					t.Fatal(err)
				}
				if _, err := a.hello("noisy", epoch1, 0, 0); err != nil {
					t.Fatal(err)
				}
				mark := s.log.mark()
				a.rw.Write(tc.frame)
				// The collector answers with a protocol error or just closes.
				for {
					m, err := a.recv()
					if err != nil {
						break
					}
					if e, ok := m.(*wire.Error); ok && e.Code != wire.ErrCodeProtocol {
						t.Fatalf("error code %d, want protocol", e.Code)
					}
				}
				s.log.waitLogSince(t, mark, tc.log)
				sendGood() // the other agent is unaffected
			})
		}
	}
	if got := counterValue(s.m.Refused.WithLabelValues("protocol")); got != float64(2*len(bad)) {
		t.Fatalf("refused{protocol} = %v, want %d", got, 2*len(bad))
	}
}

// A batch naming series numbers never defined on the connection keeps its
// other content and is acked: the definitions would never arrive (an agent
// sends them before the first batch using them), so resending the batch
// would wedge the agent.
func TestUnknownSeriesRejected(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	cert := s.addAgent(t, "edge", "*")
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge", epoch1, 1, 1); err != nil {
		t.Fatal(err)
	}
	got, err := a.batch(testBatch(1, 1_800_000_000, false, "r1", 60)) // no Series sent
	if err != nil || got != 1 {
		t.Fatalf("ack %d, %v", got, err)
	}
	if len(a.rejects) != 1 || a.rejects[0].Kind != wire.RejectFrame || a.rejects[0].Count != 3 ||
		!strings.Contains(a.rejects[0].Reason, "unknown series number 1") {
		t.Fatalf("rejects %+v", a.rejects)
	}
	recs := s.journaled(t)
	if len(recs) != 1 || len(recs[0].Updates) != 0 || len(recs[0].Statuses) != 1 {
		t.Fatalf("journal %+v", recs)
	}
}

func TestEpochsAndDeclaredDrops(t *testing.T) {
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{})
	cert := s.addAgent(t, "edge", "*")
	a, err := dialTCP(t, s.tcpAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	// The spool already dropped 1..4: the collector records a gap and acks 4.
	ack, err := a.hello("edge", epoch1, 5, 6)
	if err != nil || ack.AckedSeq != 4 {
		t.Fatalf("hello-ack %+v, %v", ack, err)
	}
	a.send(testSeries("r1"))
	for seq := uint64(5); seq <= 6; seq++ {
		if _, err := a.batch(testBatch(seq, 1_800_000_000+int64(seq)*60, seq == 5, "r1", 60)); err != nil {
			t.Fatal(err)
		}
	}
	a.close()
	// Reconnect, same epoch: acked 6. Then a new spool epoch starts at 0.
	a, _ = dialTCP(t, s.tcpAddr, s.clientTLS(&cert))
	if ack, err := a.hello("edge", epoch1, 7, 7); err != nil || ack.AckedSeq != 6 {
		t.Fatalf("reconnect: %+v, %v", ack, err)
	}
	a.close()
	a, _ = dialTCP(t, s.tcpAddr, s.clientTLS(&cert))
	if ack, err := a.hello("edge", epoch1+1, 1, 1); err != nil || ack.AckedSeq != 0 || ack.Epoch != epoch1+1 {
		t.Fatalf("new epoch: %+v, %v", ack, err)
	}
	a.close()
	s.shutdown(t)
	var msg string
	var n int
	s.db.Reader().QueryRow(`SELECT count(*), max(message) FROM events WHERE kind = ?`, inventory.EventAgentDropped).Scan(&n, &msg)
	if n != 1 || !strings.Contains(msg, "agent edge dropped 4 batches") {
		t.Fatalf("drop events: %d %q", n, msg)
	}
	// After a restart the watermark comes back from the checkpoint.
	s.srv = nil
	s2 := openStack(t, dir, stackOptions{})
	if e, seq := s2.srv.Acked("edge"); e != epoch1 || seq != 6 {
		t.Fatalf("after restart: epoch %x seq %d", e, seq)
	}
}

// counterValue reads a counter or gauge.
func counterValue(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var d dto.Metric
	if err := (<-ch).Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.GetCounter().GetValue()
	}
	return d.GetGauge().GetValue()
}

// TestResetAndMissingDSAreUnknown checks the archive semantics of a
// discontinuity (the interval ending at the reset is unknown, not a wrap
// spike) and of a data source missing from a poll (unknown). As in
// rrdtool, a counter has no baseline after an unknown reading, so the
// interval after it is unknown too.
func TestResetAndMissingDSAreUnknown(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	cert := s.addAgent(t, "edge", "*")
	a, err := dialQUIC(t, s.quicAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge", epoch1, 1, 7); err != nil {
		t.Fatal(err)
	}
	a.send(testSeries("r1"))
	base := int64(1_800_000_000)
	for seq := uint64(1); seq <= 7; seq++ {
		ts := base + int64(seq)*60
		b := testBatch(seq, ts, seq == 1, "r1", 60)
		if seq >= 3 { // the device restarted before poll 3: in_octets starts again at 5
			b.Groups[0].Ints[1] = 5 + (seq-3)*60*1000
		}
		if seq == 3 {
			b.Groups[0].Resets = []uint32{1}
		}
		if seq == 5 { // out_octets missing from this poll
			b.Groups[0].Ints = b.Groups[0].Ints[:2]
		}
		if _, err := a.batch(b); err != nil {
			t.Fatalf("batch %d: %v", seq, err)
		}
	}
	a.close()
	s.shutdown(t)
	res, err := rrd.Fetch(s.dir+"/rrd/r1/if%3Aeth0.rrd", rrd.Average, time.Unix(base+60, 0), time.Unix(base+420, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64][]float64{}
	for i, row := range res.Rows {
		got[(res.Start.Unix()+int64(i+1)*60-base)/60] = row
	}
	nan := math.NaN()
	want := map[int64][]float64{
		2: {1000, 10},
		3: {nan, 10},   // reset: unknown instead of a wrap spike
		4: {nan, 10},   // no baseline after the unknown reading
		5: {1000, nan}, // out_octets missing
		6: {1000, nan}, // no baseline
		7: {1000, 10},
	}
	for poll := int64(2); poll <= 7; poll++ {
		for ds := 0; ds < 2; ds++ {
			w, g := want[poll][ds], got[poll][ds]
			if math.IsNaN(w) != math.IsNaN(g) || !math.IsNaN(w) && math.Abs(w-g) > 1e-9 {
				t.Errorf("poll %d ds %d: %v, want %v (rows %v)", poll, ds, g, w, got)
			}
		}
	}
}

// TestSlowAgentDoesNotBlockOthers: an agent stalled in the middle of a
// frame holds only its own goroutine.
func TestSlowAgentDoesNotBlockOthers(t *testing.T) {
	s := openStack(t, t.TempDir(), stackOptions{})
	slowCert := s.addAgent(t, "slow", "*")
	fastCert := s.addAgent(t, "fast", "*")
	for _, transport := range []string{"quic", "tcp"} {
		var slow *agentConn
		var err error
		if transport == "quic" {
			slow, err = dialQUIC(t, s.quicAddr, s.clientTLS(&slowCert))
		} else {
			slow, err = dialTCP(t, s.tcpAddr, s.clientTLS(&slowCert))
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := slow.hello("slow", epoch1, 0, 0); err != nil {
			t.Fatal(err)
		}
		// Half a frame, then silence.
		slow.rw.Write(append(binary.BigEndian.AppendUint32(nil, 1000), byte(wire.TypeBatch), 0x85))
	}
	fast, err := dialQUIC(t, s.quicAddr, s.clientTLS(&fastCert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fast.hello("fast", epoch1, 1, 50); err != nil {
		t.Fatal(err)
	}
	fast.send(testSeries("r1"))
	deadline := time.Now().Add(20 * time.Second)
	for seq := uint64(1); seq <= 50; seq++ {
		if got, err := fast.batch(testBatch(seq, 1_800_000_000+int64(seq)*60, false, "r1", 60)); err != nil || got != seq {
			t.Fatalf("batch %d: %d %v", seq, got, err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the fast agent was held up")
		}
	}
}

// TestArchiveKeepsItsDataSources: when an agent redescribes an attribute
// (data sources reordered, one added) after its archive exists, samples
// still land in the file's data sources by name.
func TestArchiveKeepsItsDataSources(t *testing.T) {
	dir := t.TempDir()
	s := openStack(t, dir, stackOptions{})
	cert := s.addAgent(t, "edge", "*")
	a, err := dialTCP(t, s.tcpAddr, s.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.hello("edge", epoch1, 1, 4); err != nil {
		t.Fatal(err)
	}
	a.send(testSeries("r1"))
	base := int64(1_800_000_000)
	for seq := uint64(1); seq <= 2; seq++ {
		if _, err := a.batch(testBatch(seq, base+int64(seq)*60, seq == 1, "r1", 60)); err != nil {
			t.Fatal(err)
		}
	}
	a.close()
	s.shutdown(t)

	s2 := openStack(t, dir, stackOptions{})
	a, err = dialTCP(t, s2.tcpAddr, s2.clientTLS(&cert))
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := a.hello("edge", epoch1, 3, 4); err != nil || ack.AckedSeq != 2 {
		t.Fatalf("hello-ack %+v %v", ack, err)
	}
	a.send(&wire.Series{First: 10, Defs: []wire.SeriesDef{
		{Host: "r1", Attr: "if:eth0", DS: "in_errors", Kind: sample.Counter64},
		{Host: "r1", Attr: "if:eth0", DS: "out_octets", Kind: sample.Counter64},
		{Host: "r1", Attr: "if:eth0", DS: "in_octets", Kind: sample.Counter64},
	}})
	h := testHost("r1", 60)
	h.Attrs[0].DS = []wire.DSDef{{Name: "in_errors", Kind: sample.Counter64, Min: math.NaN(), Max: math.NaN()}, h.Attrs[0].DS[1], h.Attrs[0].DS[0]}
	for seq := uint64(3); seq <= 4; seq++ {
		ts := base + int64(seq)*60
		b := &wire.Batch{Seq: seq, Groups: []wire.Group{{Time: ts * 1000, Ints: []uint64{10, 7, 11, uint64(ts) * 10, 12, uint64(ts) * 1000}}}}
		if seq == 3 {
			b.Hosts = []wire.Host{h}
		}
		if _, err := a.batch(b); err != nil {
			t.Fatal(err)
		}
	}
	a.close()
	s2.shutdown(t)
	res, err := rrd.Fetch(dir+"/rrd/r1/if%3Aeth0.rrd", rrd.Average, time.Unix(base+120, 0), time.Unix(base+240, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DS) != 2 || res.DS[0] != "in_octets" {
		t.Fatalf("archive data sources %v", res.DS)
	}
	for i, row := range res.Rows {
		if math.Abs(row[0]-1000) > 1e-9 || math.Abs(row[1]-10) > 1e-9 {
			t.Errorf("row %d: %v, want [1000 10]", i, row)
		}
	}
	if got := counterValue(s2.m.ApplyErrors); got != 0 {
		t.Fatalf("apply errors %v", got)
	}
}
