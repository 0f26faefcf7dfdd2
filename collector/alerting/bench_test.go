package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/latest"
	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/status"
	"github.com/outpost-nms/outpost/shared/testbed"
	"github.com/outpost-nms/outpost/shared/wire"
)

// benchRules are ten rules every interface matches: utilisation,
// errors, rates and values, absence.
const benchRules = `    - {name: UtilMax, match: {kind: interface}, threshold: {of: utilisation, above: 90, clear: 80}}
    - {name: UtilIn, match: {kind: interface}, threshold: {of: utilisation, direction: in, above: 95}}
    - {name: UtilOut, match: {kind: interface}, threshold: {of: utilisation, direction: out, above: 95}}
    - {name: UtilLow, match: {kind: interface, props: {ifAlias: "*uplink*"}}, threshold: {of: utilisation, below: 0.001, clear: 0.01}}
    - {name: Errors, match: {kind: interface}, threshold: {of: errors, above: 10, clear: 1}}
    - {name: ErrorsIn, match: {kind: interface}, threshold: {of: errors, direction: in, above: 20}}
    - {name: InRate, match: {kind: interface}, threshold: {of: rate, ds: in_octets, above: 1.1e8}}
    - {name: OutRate, match: {kind: interface}, threshold: {of: rate, ds: out_octets, above: 1.1e8}}
    - {name: Absent, match: {kind: interface}, absent: 3}
    - {name: AbsentLong, match: {kind: interface}, absent: 10}
`

// BenchmarkEvaluate1M measures one evaluation cycle of 10 rules over
// 1,000,000 interfaces (1% of them over a threshold): the figure that
// matters is ns/op, one cycle on one core.
func BenchmarkEvaluate1M(b *testing.B) {
	const n = 1_000_000
	c, err := config.Parse("bench.yaml", []byte("alerting:\n  rules:\n"+benchRules))
	if err != nil {
		b.Fatal(err)
	}
	rs, err := CompileRules(c.Alerting.Rules, 0)
	if err != nil {
		b.Fatal(err)
	}
	table := latest.New(n)
	table.SetWanted(rs.wanted)
	now := time.Unix(1_800_000_000, 0)
	cat := &catalog{matches: make([]int, len(rs.user))}
	var rules []int32
	for i := range rs.user {
		rules = append(rules, int32(i))
	}
	for i := range n {
		host, key := fmt.Sprintf("sw%d", i/48), fmt.Sprintf("if:%d", i%48)
		t := &target{host: host, agent: "edge", key: key, kind: wire.KindInterface, interval: time.Minute, speed: 1e9, rules: rules, state: make([]ruleState, len(rules))}
		t.entry = table.Ensure(host, key)
		busy := uint64(0)
		if i%100 == 0 {
			busy = 7e9 // 930 Mb/s over the minute
		}
		for j, at := range []time.Time{now.Add(-2 * time.Minute), now.Add(-time.Minute)} {
			o := uint64(j) * (1e9 + busy)
			table.Observe(host, key, at.UnixMilli(), []latest.Value{{DS: "in_octets", Kind: sample.Counter64, Uint: o}, {DS: "out_octets", Kind: sample.Counter64, Uint: o / 2},
				{DS: "in_errors", Kind: sample.Counter64, Uint: uint64(j)}, {DS: "out_errors", Kind: sample.Counter64, Uint: 0}})
		}
		cat.targets = append(cat.targets, t)
	}
	e := New(Config{Now: func() time.Time { return now }}, &fakeSource{}, fakeContacts{}, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	runtime.GC()
	b.ResetTimer()
	var firing int
	for range b.N {
		holds, alerts := e.evalTargets(cat, rs, now, nil)
		firing = len(alerts)
		_ = holds
	}
	b.StopTimer()
	if firing < n/100 {
		b.Fatalf("%d alerts firing, want at least %d", firing, n/100)
	}
	b.ReportMetric(float64(n*len(rules)), "pairs/op")
	b.ReportMetric(float64(firing), "firing")
}

// BenchmarkDeliveryLatency measures the time from an attribute's status
// change (applied and announced with Wake, as ingest does) to a real
// Alertmanager listing the alert, with the engine at the default 30 s
// interval: the change does not wait for it. Each change comes
// MinCycleGap after the previous one (a storm of changes is batched into
// one cycle a second; the gap is not measured).
func BenchmarkDeliveryLatency(b *testing.B) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	base := testbedAlertmanager(b, hook.URL)
	src := &fakeSource{agents: []inventory.Agent{{Name: "paris"}}}
	e := New(Config{Alertmanagers: []string{base}, Interval: DefaultInterval, For: time.Nanosecond}, src, fakeContacts{"paris": true}, nil, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	var total time.Duration
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		host := fmt.Sprintf("core%d", i)
		b.StopTimer()
		time.Sleep(MinCycleGap)
		b.StartTimer()
		start := time.Now()
		src.mu.Lock()
		src.failing = []inventory.Failing{{Host: host, Agent: "paris", Key: "host", Kind: wire.KindHost, Status: status.Down, Since: start.Add(-time.Second)}}
		src.mu.Unlock()
		e.Wake()
		for {
			if amHas(b, base, host) {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s never reached Alertmanager", host)
			}
			time.Sleep(5 * time.Millisecond)
		}
		d := time.Since(start)
		total += d
		worst = max(worst, d)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/alert")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}

func testbedAlertmanager(b *testing.B, hookURL string) string {
	return testbed.StartAlertmanager(b, hookURL)
}

func amHas(b *testing.B, base, host string) bool {
	res, err := http.Get(base + "/api/v2/alerts?filter=" + url.QueryEscape(`host="`+host+`"`))
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var out []Alert
	json.NewDecoder(res.Body).Decode(&out)
	return len(out) > 0
}
