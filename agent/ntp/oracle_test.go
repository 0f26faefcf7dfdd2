package ntp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/agent/ntp"
	"github.com/outpost-nms/outpost/agent/sim/ntpsim"
	"github.com/outpost-nms/outpost/shared/testbed"
)

// oracleScript formats peer lines with ntpsec's own code (the python3-ntp
// module ntpq is built on): its varlist parser and PeerSummary, at a fixed
// "now", 80 columns, numeric addresses (ntpq -pn).
const oracleScript = `
import sys, json, base64, time
import ntp.packet, ntp.util
req = json.load(sys.stdin)
time.time = lambda: req["now"]
sess = ntp.packet.ControlSession()
rep = ntp.util.PeerSummary("peers", 2, False, False)
out = [rep.header()]
for c in req["peers"]:
    sess.response = base64.b64decode(c["data"])
    v = sess._ControlSession__parse_varlist(raw=True)
    out.append(rep.summary(c["status"], v, c["assoc"]).rstrip("\n"))
print(json.dumps(out))
`

type oraclePeer struct {
	Data   []byte `json:"data"`
	Status uint16 `json:"status"`
	Assoc  uint16 `json:"assoc"`
}

// randomPeers covers the column logic: addresses of every kind, strata,
// refids, modes, reach values, poll exponents, ages from never to months,
// and delays/offsets/jitters across every magnitude f8dot4 distinguishes.
func randomPeers(rng *rand.Rand, now time.Time, n int) []ntpsim.Peer {
	mag := func() time.Duration {
		v := math.Pow(10, rng.Float64()*11-5) // 1e-5 .. 1e6 ms
		if rng.IntN(3) == 0 {
			v = -v
		}
		if rng.IntN(10) == 0 {
			v = 0
		}
		return time.Duration(v * float64(time.Millisecond))
	}
	var peers []ntpsim.Peer
	for i := 0; i < n; i++ {
		p := ntpsim.Peer{
			Stratum: rng.IntN(17), Offset: mag(), Jitter: mag().Abs(), Reach: uint8(rng.IntN(256)),
			Selection: uint8(rng.IntN(8)), PPoll: rng.IntN(18), HPoll: rng.IntN(18),
			HMode: []int{1, 2, 3, 3, 3, 5, 6}[rng.IntN(7)],
		}
		p.Delay = mag().Abs()
		switch rng.IntN(6) {
		case 0:
			p.Address = fmt.Sprintf("127.127.%d.%d", []int{1, 20, 22, 28, 46}[rng.IntN(5)], rng.IntN(4))
			if rng.IntN(4) > 0 { // ntpd sends srchost; a foreign server may not
				p.RefClock = fmt.Sprintf("CLOCK(%d)", rng.IntN(4))
			}
			p.RefID = []string{"GPS", "PPS", "LOCL", "SHM"}[rng.IntN(4)]
		case 1:
			p.Address = fmt.Sprintf("2001:db8:%x::%x", rng.IntN(0x10000), rng.IntN(0x10000))
			p.RefID = fmt.Sprintf("192.0.2.%d", rng.IntN(256))
		case 2:
			p.Address = fmt.Sprintf("224.0.1.%d", rng.IntN(256))
			p.RefID = "INIT"
		case 3:
			p.Address, p.Pool = "0.0.0.0", true
		default:
			p.Address = fmt.Sprintf("198.51.100.%d", rng.IntN(256))
			if p.Stratum <= 1 {
				p.RefID = []string{"GPS", "DCF", "INIT", "RATE", "STEP"}[rng.IntN(5)]
			} else {
				p.RefID = fmt.Sprintf("203.0.113.%d", rng.IntN(256))
			}
		}
		switch rng.IntN(4) {
		case 0: // never
		case 1:
			p.LastReceived = now.Add(-time.Duration(rng.IntN(3000)) * time.Millisecond)
		default:
			p.LastReceived = now.Add(-time.Duration(math.Pow(10, rng.Float64()*7.5) * float64(time.Second)))
		}
		peers = append(peers, p)
	}
	return peers
}

// TestTableMatchesNtpsecPeerSummary renders random associations with this
// package and with ntpsec's PeerSummary and requires identical lines.
func TestTableMatchesNtpsecPeerSummary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ntpsec's python module")
	}
	py := testbed.RequireTool(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import ntp.util, ntp.packet").Run(); err != nil {
		testbed.Missing(t, "python3-ntp (ntpsec's python module, installed with ntpsec) is not importable: %v", err)
	}
	now := time.Now().Truncate(time.Second).Add(250 * time.Millisecond)
	rng := rand.New(rand.NewPCG(2026, 11))
	srv := ntpsim.New(ntpsim.Config{Peers: randomPeers(rng, now, 400), Now: func() time.Time { return now }})

	var req struct {
		Now   float64      `json:"now"`
		Peers []oraclePeer `json:"peers"`
	}
	req.Now = float64(now.UnixNano()) / 1e9
	var ours []string
	for _, p := range srv.Peers() {
		data, status := simReadVar(t, srv, p.AssocID)
		req.Peers = append(req.Peers, oraclePeer{Data: data, Status: status, Assoc: p.AssocID})
		row := ntp.Peer{AssocID: p.AssocID, Status: ntp.PeerStatus(status), Vars: ntp.ParseVarList(data)}.Row(now)
		ours = append(ours, row.Format())
	}
	in, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", oracleScript)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var theirs []string
	if err := json.Unmarshal(out, &theirs); err != nil {
		t.Fatalf("oracle output: %v\n%s", err, out)
	}
	if theirs[0] != ntp.TableHeader {
		t.Errorf("header\n got %q\nwant %q", ntp.TableHeader, theirs[0])
	}
	theirs = theirs[1:]
	if len(theirs) != len(ours) {
		t.Fatalf("%d oracle lines for %d peers", len(theirs), len(ours))
	}
	bad := 0
	for i := range ours {
		if ours[i] != theirs[i] {
			bad++
			if bad <= 10 {
				t.Errorf("peer %d (%+v):\n ours   %q\n ntpsec %q", i, srv.Peers()[i], ours[i], theirs[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d lines differ", bad, len(ours))
	}
}

// simReadVar asks the simulator directly (no socket) and reassembles.
func simReadVar(t *testing.T, srv *ntpsim.Server, assoc uint16) ([]byte, uint16) {
	t.Helper()
	req := ntp.Packet{Version: ntp.ControlVersion, Opcode: ntp.OpReadVar, Sequence: 1, AssocID: assoc}
	r := ntp.NewReassembler(0)
	for _, d := range srv.Handle(req.Append(nil)) {
		p, err := ntp.ParsePacket(d)
		if err != nil {
			t.Fatal(err)
		}
		done, err := r.Add(p)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return r.Data(), r.Status()
		}
	}
	t.Fatalf("assoc %d: incomplete reply", assoc)
	return nil, 0
}
