package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
)

// addAgents enrolls two agents: edge-a healthy, edge-b with a clock a
// century ahead and refusals whose reasons quote hostile device strings.
func addAgents(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for _, a := range []struct {
		name  string
		hosts []string
	}{{"edge-a", []string{"r*", "sw2"}}, {"edge-b", []string{"ntp*"}}} {
		if err := e.db.AddAgent(ctx, a.name, a.hosts, e.now.Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := e.db.AgentSeen(ctx, a.name, "198.51.100.7:4433", "outpost 1.3.0", e.now.Add(-2*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	century := 100 * 365 * 24 * time.Hour
	if err := e.db.SetClockSkew(ctx, "edge-b", -century); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		kind   inventory.RefusalKind
		n      int64
		reason string
	}{
		{inventory.RefusedClockSkew, 4, "batch 2: timestamps up to 876000h0m0s ahead of the collector's clock (limit 10m0s): the agent's clock is wrong"},
		{inventory.RefusedFrame, 1, `batch 9: series 4: empty host <script>window.pwned=1</script> \xff`},
		{inventory.RefusedHost, 2, `batch 11 names host "core1", which agent edge-b is not assigned`},
	} {
		if err := e.db.RecordRefusal(ctx, "edge-b", r.kind, r.n, r.reason, e.now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.o.MaxClockSkew = 10 * time.Minute
}

func TestAgentsPageAndAPI(t *testing.T) {
	e := newEnv(t)
	addAgents(t, e)
	c := e.client()
	e.login(c, "viewer", viewerPass)
	res, body := get(t, c, e.ts.URL+"/agents")
	page := string(body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("agents page: %d", res.StatusCode)
	}
	for _, want := range []string{`href="/agents" class="on"`, `id="agent-edge-a"`, `id="agent-edge-b" class="attention"`,
		`<strong class="warn">100 years ahead</strong>`, `&lt;script&gt;window.pwned=1&lt;/script&gt; \xff`,
		`<strong>clock-skew</strong> ×4`, `<strong>host</strong> ×2`, "r*, sw2", "198.51.100.7:4433", "outpost 1.3.0"} {
		if !strings.Contains(page, want) {
			t.Errorf("agents page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>window.pwned") {
		t.Fatal("a refusal reason is not escaped")
	}
	rowA := page[strings.Index(page, `id="agent-edge-a"`):strings.Index(page, `id="agent-edge-b"`)]
	if strings.Contains(rowA, "attention") || !strings.Contains(rowA, `<span class="muted">ok</span>`) {
		t.Errorf("edge-a row: %s", rowA)
	}

	req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/agents", nil)
	req.Header.Set("Authorization", "Bearer "+e.viewerTok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct{ Items []AgentJSON }
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("api: %d %v", res.StatusCode, err)
	}
	if len(got.Items) != 2 {
		t.Fatalf("items %+v", got.Items)
	}
	b := got.Items[1]
	if b.Name != "edge-b" || !b.ClockWrong || b.ClockSkewSeconds > -3e9 || len(b.Refusals) != 3 || b.Refusals[1].Kind != "frame" ||
		!strings.Contains(b.Refusals[1].LastReason, "<script>") || got.Items[0].ClockWrong || len(got.Items[0].Refusals) != 0 {
		t.Fatalf("api items %+v", got.Items)
	}
}

func TestSkewText(t *testing.T) {
	for _, tc := range []struct {
		sec  float64
		want string
	}{{-90, "1m30s ahead"}, {3600, "1h0m0s behind"}, {-3 * 86400, "3 days ahead"}, {-100 * 365 * 86400, "100 years ahead"}} {
		if got := skewText(tc.sec); got != tc.want {
			t.Errorf("skewText(%v) = %q, want %q", tc.sec, got, tc.want)
		}
	}
}
