package config

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed/golden"
)

func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	sort.Strings(files)
	var got strings.Builder
	for _, f := range files {
		_, err := Load(f)
		if err == nil {
			t.Errorf("%s: loaded without error", f)
			continue
		}
		if !strings.HasPrefix(err.Error(), f+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q", f, err)
		}
		got.WriteString(err.Error() + "\n")
	}
	goldenPath := filepath.Join("testdata", "errors.golden")
	if golden.Update() {
		if err := os.WriteFile(goldenPath, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got.String() != string(want) {
		t.Errorf("errors differ from %s:\n got:\n%s\nwant:\n%s", goldenPath, got.String(), want)
	}
}

func TestExampleAndDefaults(t *testing.T) {
	ex, err := Load("../../configs/collector.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def, err := Parse("d.yaml", []byte("name: collector\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The example shows the defaults: both must load to the same values.
	for _, c := range []*Config{ex, def, Default()} {
		if c.DataDir != DefaultDataDir || c.Listen.QUIC != ":4700" || c.Listen.TCP != ":4701" ||
			c.Listen.MaxFrame != 4<<20 || c.Web.Listen != "127.0.0.1:8080" || c.Metrics.Listen != "127.0.0.1:9470" ||
			c.TLS.CACert != "/var/lib/outpost-collector/pki/ca.pem" || c.TLS.CAKey != "/var/lib/outpost-collector/pki/ca.key" ||
			c.TLS.Cert != "/var/lib/outpost-collector/pki/server.pem" || c.TLS.Key != "/var/lib/outpost-collector/pki/server.key" ||
			c.Web.SessionTTL.D() != 12*time.Hour || c.RRD.FlushInterval.D() != 5*time.Minute || c.RRD.FlushWorkers != 2 || !c.RRD.On() || c.RRD.Enabled == nil ||
			c.Journal.SegmentBytes != 64<<20 || c.Log.Level != "info" || c.Log.Format != "text" || c.Name != "collector" {
			t.Errorf("config %+v", c)
		}
	}
	c, err := Parse("o.yaml", []byte("data_dir: /srv/op\nlisten: {tcp: \"off\"}\nmetrics: {listen: \"off\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.Cert != "/srv/op/pki/server.pem" || c.Listen.TCP != Off || c.Metrics.Listen != Off {
		t.Errorf("config %+v", c)
	}
}

func TestForwardOnlyConfig(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		on   bool
	}{
		{"rrd: {enabled: false}\nforward: {remote_write: [{url: http://127.0.0.1:9090/api/v1/write}]}\n", false},
		{"rrd: {enabled: true}\n", true},
		{"rrd: {flush_workers: 4}\n", true},
	} {
		c, err := Parse("r.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if c.RRD.On() != tc.on || c.RRD.Enabled == nil || *c.RRD.Enabled != tc.on {
			t.Errorf("%q: On() = %v, want %v", tc.yaml, c.RRD.On(), tc.on)
		}
	}
}

func TestForwardConfig(t *testing.T) {
	c, err := Parse("f.yaml", []byte(`forward:
  max_backlog: {bytes: 1GiB, age: 6h}
  remote_write:
    - url: https://mimir.example.net/api/v1/push
      headers: {X-Scope-OrgID: site-a}
      basic_auth: {username: outpost, password: hunter2hunter2}
      tls: {ca: /etc/ca.pem, server_name: mimir}
    - name: vm
      url: http://vm.example.net:8428/api/v1/write
      queue: {shards: 8, max_samples_per_send: 10000}
`))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Forward
	if f.MaxBacklog.Bytes != 1<<30 || f.MaxBacklog.Age.D() != 6*time.Hour || len(f.RemoteWrite) != 2 {
		t.Fatalf("forward = %+v", f)
	}
	m, vm := f.RemoteWrite[0], f.RemoteWrite[1]
	if m.Name != "mimir.example.net" || m.Headers["X-Scope-OrgID"] != "site-a" || m.BasicAuth.Password.Reveal() != "hunter2hunter2" ||
		m.TLS.ServerName != "mimir" || m.Timeout.D() != 30*time.Second || m.Queue.Shards != 4 || m.Queue.MaxSamplesPerSend != 5000 {
		t.Errorf("first entry with defaults = %+v", m)
	}
	if vm.Name != "vm" || vm.Queue.Shards != 8 || vm.Queue.MaxSamplesPerSend != 10000 || vm.Queue.MaxBackoff.D() != 30*time.Second {
		t.Errorf("second entry = %+v", vm)
	}
	if d := Default().Forward; d.MaxBacklog.Bytes != DefaultForwardBacklog || len(d.RemoteWrite) != 0 {
		t.Errorf("default forward = %+v", d)
	}
}
