package config

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/secret"
)

// Forward sends every journaled sample to Prometheus remote-write stores
// (Mimir, VictoriaMetrics, Thanos Receive, Cortex, Prometheus). No
// remote_write entries: forwarding off.
type Forward struct {
	RemoteWrite []RemoteWrite `yaml:"remote_write"`
	MaxBacklog  Backlog       `yaml:"max_backlog"`
}

// Backlog bounds what the journal keeps for a store that is behind.
// Beyond either bound the oldest records are dropped for that store,
// counted (outpost_forward_*dropped*) and logged.
type Backlog struct {
	Bytes configfile.Size     `yaml:"bytes"` // journal bytes kept behind a store's position, default 10GiB
	Age   configfile.Duration `yaml:"age"`   // records older than this are not sent, default 0 (no bound)
}

// RemoteWrite is one remote-write 1.0 endpoint.
type RemoteWrite struct {
	Name            string              `yaml:"name"` // unique; names the store in logs, metrics and its position file; default the URL's host
	URL             string              `yaml:"url"`  // e.g. http://mimir:8080/api/v1/push
	Headers         map[string]string   `yaml:"headers"`
	BasicAuth       *BasicAuth          `yaml:"basic_auth"`
	BearerTokenFile string              `yaml:"bearer_token_file"` // read for every request
	TLS             RemoteWriteTLS      `yaml:"tls"`
	Timeout         configfile.Duration `yaml:"timeout"` // one request, default 30s
	Queue           Queue               `yaml:"queue"`
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	Username string        `yaml:"username"`
	Password secret.Secret `yaml:"password"`
}

// RemoteWriteTLS configures an https endpoint.
type RemoteWriteTLS struct {
	CA         string `yaml:"ca"`   // PEM CAs to trust instead of the system's
	Cert       string `yaml:"cert"` // client certificate (mutual TLS), with key
	Key        string `yaml:"key"`
	ServerName string `yaml:"server_name"` // name to verify instead of the URL's host
}

// Queue tunes sending. Keep shards unchanged across restarts of a
// collector that may have crashed (the chunk in flight is resent split
// the same way).
type Queue struct {
	Shards            int                 `yaml:"shards"`               // requests in flight, default 4 (1-64)
	MaxSamplesPerSend int                 `yaml:"max_samples_per_send"` // default 5000 (100-100000)
	BatchSendDeadline configfile.Duration `yaml:"batch_send_deadline"`  // wait for more before a part-full send, default 1s
	MinBackoff        configfile.Duration `yaml:"min_backoff"`          // default 50ms
	MaxBackoff        configfile.Duration `yaml:"max_backoff"`          // default 30s
}

// Defaults of forward.
const (
	DefaultForwardBacklog = 10 << 30
	DefaultForwardShards  = 4
	DefaultForwardSamples = 5000
)

// reservedHeaders are set by the forwarder itself.
var reservedHeaders = []string{"Content-Encoding", "Content-Type", "X-Prometheus-Remote-Write-Version", "User-Agent", "Authorization"}

func (f *Forward) applyDefaults() {
	f.MaxBacklog.Bytes = configfile.Size(f.MaxBacklog.Bytes.Or(DefaultForwardBacklog))
	for i := range f.RemoteWrite {
		rw := &f.RemoteWrite[i]
		if rw.Name == "" {
			if u, err := url.Parse(rw.URL); err == nil {
				rw.Name = u.Hostname()
			}
		}
		rw.Timeout = configfile.Duration(rw.Timeout.Or(30 * time.Second))
		q := &rw.Queue
		if q.Shards == 0 {
			q.Shards = DefaultForwardShards
		}
		if q.MaxSamplesPerSend == 0 {
			q.MaxSamplesPerSend = DefaultForwardSamples
		}
		q.BatchSendDeadline = configfile.Duration(q.BatchSendDeadline.Or(time.Second))
		q.MinBackoff = configfile.Duration(q.MinBackoff.Or(50 * time.Millisecond))
		q.MaxBackoff = configfile.Duration(q.MaxBackoff.Or(30 * time.Second))
	}
}

// check validates forward.
func (f *Forward) check(segment configfile.Size, v *configfile.Validator) {
	f.applyDefaults()
	fail := v.Fail
	if f.MaxBacklog.Bytes < segment {
		fail("forward.max_backlog.bytes", "%s is smaller than journal.segment_bytes %s (the journal drops whole segments)", f.MaxBacklog.Bytes, segment)
	}
	if a := f.MaxBacklog.Age.D(); a != 0 && a < time.Minute {
		fail("forward.max_backlog.age", "%s is too short (at least 1m, or 0 for no bound)", f.MaxBacklog.Age)
	}
	names := map[string]bool{}
	for i := range f.RemoteWrite {
		rw := &f.RemoteWrite[i]
		p := fmt.Sprintf("forward.remote_write[%d]", i)
		u, err := url.Parse(rw.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(p+".url", "%q is not an http(s) URL with a host", rw.URL)
			continue
		}
		v.Name(p+".name", rw.Name)
		switch {
		case names[rw.Name]:
			fail(p+".name", "%q is used by another remote_write entry (set a unique name)", rw.Name)
		case rw.BasicAuth != nil && rw.BearerTokenFile != "":
			fail(p+".bearer_token_file", "set basic_auth or bearer_token_file, not both")
		case rw.BasicAuth != nil && rw.BasicAuth.Username == "":
			fail(p+".basic_auth.username", "missing")
		case (rw.TLS.Cert == "") != (rw.TLS.Key == ""):
			fail(p+".tls.cert", "cert and key must be set together")
		case u.Scheme == "http" && rw.TLS != (RemoteWriteTLS{}):
			fail(p+".tls", "set for an http:// URL (use https://)")
		}
		names[rw.Name] = true
		for h := range rw.Headers {
			for _, r := range reservedHeaders {
				if strings.EqualFold(h, r) {
					fail(p+".headers", "%q is set by the forwarder (use basic_auth or bearer_token_file for Authorization)", h)
				}
			}
			if http.CanonicalHeaderKey(h) == "" || strings.ContainsAny(h, " :\r\n") {
				fail(p+".headers", "%q is not a header name", h)
			}
		}
		if d := rw.Timeout.D(); d < time.Second || d > 10*time.Minute {
			fail(p+".timeout", "%s out of range (1s to 10m)", rw.Timeout)
		}
		q := rw.Queue
		if q.Shards < 1 || q.Shards > 64 {
			fail(p+".queue.shards", "%d out of range (1 to 64)", q.Shards)
		}
		if q.MaxSamplesPerSend < 100 || q.MaxSamplesPerSend > 100_000 {
			fail(p+".queue.max_samples_per_send", "%d out of range (100 to 100000)", q.MaxSamplesPerSend)
		}
		if d := q.BatchSendDeadline.D(); d < time.Millisecond || d > time.Minute {
			fail(p+".queue.batch_send_deadline", "%s out of range (1ms to 1m)", q.BatchSendDeadline)
		}
		if q.MinBackoff.D() <= 0 || q.MaxBackoff.D() < q.MinBackoff.D() || q.MaxBackoff.D() > time.Hour {
			fail(p+".queue.max_backoff", "%s must be at least min_backoff %s and at most 1h", q.MaxBackoff, q.MinBackoff)
		}
	}
}
