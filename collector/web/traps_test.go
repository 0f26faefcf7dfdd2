package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
)

// addTraps stores n linkDown traps of r1 a minute apart (newest last), a
// hostile one, and one from an unknown source, through the ingest path's
// insert (ApplyIngest).
func addTraps(t *testing.T, e *env, n int) {
	t.Helper()
	var ins []inventory.TrapInsert
	for i := 0; i < n; i++ {
		ins = append(ins, inventory.TrapInsert{Epoch: 1, Seq: 1, Index: i, Trap: inventory.Trap{
			At: e.now.Add(time.Duration(i-n) * time.Minute), Received: e.now, Agent: "edge-a", Host: "r1", Source: "192.0.2.1", SourceFrom: "udp",
			From: "192.0.2.1:50000", Version: 2, OID: "1.3.6.1.6.3.1.1.5.3", Name: "IF-MIB::linkDown", Uptime: uint32(i),
			VarBinds: []inventory.TrapVarBind{{OID: "1.3.6.1.2.1.2.2.1.1.1", Name: "IF-MIB::ifIndex.1", Type: "Integer", Value: fmt.Sprint(i)}}}})
	}
	ins = append(ins,
		inventory.TrapInsert{Epoch: 1, Seq: 2, Index: 0, Trap: inventory.Trap{At: e.now.Add(-30 * time.Second), Received: e.now, Agent: "edge-a", Host: "r1",
			Source: "192.0.2.1", SourceFrom: "udp", Version: 2, OID: "1.3.6.1.4.1.99.0.1",
			VarBinds: []inventory.TrapVarBind{{OID: "1.3.6.1.4.1.99.1", Type: "OctetString", Value: `<script>alert(1)</script>\x1b[31m`}}}},
		inventory.TrapInsert{Epoch: 1, Seq: 2, Index: 1, Trap: inventory.Trap{At: e.now.Add(-20 * time.Second), Received: e.now, Agent: "edge-a",
			Source: "203.0.113.9", SourceFrom: "agent-addr", Version: 1, OID: "1.3.6.1.4.1.9.0.3", Enterprise: "1.3.6.1.4.1.9", Generic: 6, Specific: 3}})
	if _, err := e.db.ApplyIngest(context.Background(), inventory.IngestUpdate{Agent: "edge-a", Now: e.now, Traps: ins,
		Archive: func(h, k string) string { return h + "/" + k }}); err != nil {
		t.Fatal(err)
	}
}

func TestTrapsAPI(t *testing.T) {
	e := newEnv(t)
	addTraps(t, e, 60)
	c := e.client()
	type page struct {
		Items []TrapJSON `json:"items"`
		Total int        `json:"total"`
		Page  int        `json:"page"`
		Rows  int        `json:"rows"`
	}
	fetch := func(query string) (int, page) {
		t.Helper()
		res, body := get(t, c, e.ts.URL+"/api/v1/traps"+query, "Authorization", "Bearer "+e.viewerTok)
		var p page
		if res.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("%s: %v %s", query, err, body)
			}
		}
		return res.StatusCode, p
	}
	cases := []struct {
		query      string
		total, len int
		first      string // OID of the first (newest) item
	}{
		{"", 62, 50, "1.3.6.1.4.1.9.0.3"},
		{"?page=2", 62, 12, "1.3.6.1.6.3.1.1.5.3"},
		{"?host=r1&rows=5", 61, 5, "1.3.6.1.4.1.99.0.1"},
		{"?host=-", 1, 1, "1.3.6.1.4.1.9.0.3"},
		{"?name=linkdown", 60, 50, "1.3.6.1.6.3.1.1.5.3"},
		{"?oid=1.3.6.1.4.1", 2, 2, "1.3.6.1.4.1.9.0.3"},
		{"?oid=1.3.6.1.4.1.9", 1, 1, "1.3.6.1.4.1.9.0.3"},
		{"?oid=1.3.6.1.6.3.1.1.5.3&since=10m", 10, 10, "1.3.6.1.6.3.1.1.5.3"},
		{"?since=" + fmt.Sprint(e.now.Add(-90*time.Second).Unix()), 3, 3, "1.3.6.1.4.1.9.0.3"},
		{"?host=nonexistent", 0, 0, ""},
	}
	for _, tc := range cases {
		code, p := fetch(tc.query)
		if code != http.StatusOK || p.Total != tc.total || len(p.Items) != tc.len || (tc.len > 0 && p.Items[0].OID != tc.first) {
			t.Errorf("%q: %d, total %d, %d items, first %+v", tc.query, code, p.Total, len(p.Items), p.Items)
		}
	}
	_, p := fetch("?host=-")
	if it := p.Items[0]; it.Host != "" || it.Source != "203.0.113.9" || it.SourceFrom != "agent-addr" || it.Version != "1" ||
		it.Generic == nil || *it.Specific != 3 || it.VarBinds == nil {
		t.Errorf("unknown-source item %+v", it)
	}
	_, p = fetch("?name=linkDown&rows=1")
	if it := p.Items[0]; it.Name != "IF-MIB::linkDown" || it.Version != "2c" || it.Host != "r1" || len(it.VarBinds) != 1 || it.VarBinds[0].Name != "IF-MIB::ifIndex.1" || it.Generic != nil {
		t.Errorf("linkDown item %+v", it)
	}
	for _, bad := range []string{"?page=0", "?page=x", "?rows=-1", "?since=yesterday", "?oid=IF-MIB::linkDown"} {
		if code, _ := fetch(bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	if res, _ := get(t, c, e.ts.URL+"/api/v1/traps"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: %d", res.StatusCode)
	}
}

func TestTrapsPageAndHostPanel(t *testing.T) {
	e := newEnv(t)
	addTraps(t, e, 60)
	c := e.client()
	e.login(c, "viewer", viewerPass)
	res, body := get(t, c, e.ts.URL+"/traps?host=r1&page=2")
	page := string(body)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "61 traps, page 2 of 2") || strings.Count(page, "IF-MIB::linkDown") != 11 ||
		!strings.Contains(page, `id="newer"`) || strings.Contains(page, `id="older"`) {
		t.Fatalf("traps page 2: %d\n%s", res.StatusCode, page)
	}
	res, body = get(t, c, e.ts.URL+"/hosts/r1")
	host := string(body)
	if res.StatusCode != http.StatusOK || !strings.Contains(host, "Recent traps") || strings.Count(host, "IF-MIB::linkDown") != 9 {
		t.Fatalf("host page traps: %d", res.StatusCode)
	}
	if strings.Contains(host, "<script>alert") || !strings.Contains(host, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("a varbind value is not escaped on the host page")
	}
	res, body = get(t, c, e.ts.URL+"/traps?host=-")
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "203.0.113.9") || !strings.Contains(string(body), "unknown") {
		t.Fatalf("unknown sources: %d", res.StatusCode)
	}
	if res, _ := get(t, c, e.ts.URL+"/traps?since=soon"); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad since: %d", res.StatusCode)
	}
}
