package forward_test

import (
	"context"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/outpost-nms/outpost/collector/forward"
	"github.com/outpost-nms/outpost/collector/journal"
)

// A forwarder is built before the journal opens (the journal's Retain asks
// it what to keep), then runs on a Tailer opened at its position.
func Example() {
	dir, _ := os.MkdirTemp("", "forward-example")
	defer os.RemoveAll(dir)
	f, err := forward.New(forward.Options{
		Endpoint:        forward.Endpoint{Name: "mimir", URL: "http://127.0.0.1:9009/api/v1/push", Headers: map[string]string{"X-Scope-OrgID": "network"}},
		Dir:             filepath.Join(dir, "forward"),
		MaxBacklogBytes: 10 << 30,
	})
	if err != nil {
		log.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{Retain: forward.Retain([]*forward.Forwarder{f})})
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	t := j.Tail(f.Position())
	defer t.Close()
	if err := f.Run(ctx, t); err != nil {
		log.Fatal(err)
	}
}
