package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/forward"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/collector/metrics"
	"github.com/outpost-nms/outpost/shared/lifecycle"
)

// newForwarders builds one forwarder per forward.remote_write entry. It
// runs before the journal opens, whose Retain keeps what they have not
// sent; a bad TLS file or token file fails the start here.
func newForwarders(c *config.Config, db *inventory.DB, log *slog.Logger) ([]*forward.Forwarder, error) {
	var fs []*forward.Forwarder
	for _, rw := range c.Forward.RemoteWrite {
		ep := forward.Endpoint{Name: rw.Name, URL: rw.URL, Headers: rw.Headers, BearerTokenFile: rw.BearerTokenFile,
			TLS:     forward.TLS{CA: rw.TLS.CA, Cert: rw.TLS.Cert, Key: rw.TLS.Key, ServerName: rw.TLS.ServerName},
			Timeout: rw.Timeout.D()}
		if rw.BasicAuth != nil {
			ep.Username, ep.Password = rw.BasicAuth.Username, rw.BasicAuth.Password.Reveal()
		}
		f, err := forward.New(forward.Options{Endpoint: ep, Dir: filepath.Join(c.DataDir, "forward"),
			Shards: rw.Queue.Shards, MaxSamplesPerSend: rw.Queue.MaxSamplesPerSend, BatchDeadline: rw.Queue.BatchSendDeadline.D(),
			MinBackoff: rw.Queue.MinBackoff.D(), MaxBackoff: rw.Queue.MaxBackoff.D(),
			MaxBacklogBytes: int64(c.Forward.MaxBacklog.Bytes), MaxBacklogAge: c.Forward.MaxBacklog.Age.D(),
			Inventory: inventoryAttrs{db}, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("forward.remote_write %s: %w", rw.Name, err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// retainFor is the journal's Retain for the forwarders (nil: none).
func retainFor(fs []*forward.Forwarder) func(journal.Pos) journal.Pos {
	if len(fs) == 0 {
		return nil
	}
	return forward.Retain(fs)
}

// forwardWarnings is the web UI's Warnings for the forwarders (nil: none).
func forwardWarnings(fs []*forward.Forwarder) func() []string {
	if len(fs) == 0 {
		return nil
	}
	return forward.Warnings(fs)
}

// startForwarders runs the forwarders in stage st, reading j.
func startForwarders(st *lifecycle.Stage, fs []*forward.Forwarder, j *journal.Journal, m *metrics.Collector, log *slog.Logger) {
	if len(fs) == 0 {
		return
	}
	m.Registry().MustRegister(forward.NewMetrics(fs))
	for _, f := range fs {
		if end := j.End(); f.Position() > end {
			log.Warn("forward position beyond the journal's end (journal replaced?); starting at its end", "remote_write", f.Name(), "position", f.Position(), "end", end)
			f.Reset(end)
		}
		st.Go("forward "+f.Name(), func(ctx context.Context) error {
			t := j.Tail(f.Position())
			defer t.Close()
			return f.Run(ctx, t)
		})
	}
}

// remoteStores names the remote-write stores for the web UI of a
// forward-only collector: "the remote-write store (mimir)".
func remoteStores(c *config.Config) string {
	names := make([]string, 0, len(c.Forward.RemoteWrite))
	for _, rw := range c.Forward.RemoteWrite {
		names = append(names, rw.Name)
	}
	store := "the remote-write store"
	if len(names) > 1 {
		store += "s"
	}
	return store + " (" + strings.Join(names, ", ") + ")"
}

// inventoryAttrs answers the forwarder's attribute lookups from the inventory.
type inventoryAttrs struct{ db *inventory.DB }

func (a inventoryAttrs) Attr(ctx context.Context, host, key string) (forward.AttrInfo, bool, error) {
	at, err := a.db.AttributeByKey(ctx, host, key)
	if errors.Is(err, inventory.ErrNotFound) {
		return forward.AttrInfo{}, false, nil
	}
	if err != nil {
		return forward.AttrInfo{}, false, err
	}
	return forward.AttrInfo{Kind: at.Kind, Name: at.Name, Props: at.Props}, true, nil
}
