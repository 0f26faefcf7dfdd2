package forward

import (
	"fmt"
	"time"
)

// Warnings returns, for the web UI, one line per problem of fs: a store
// failing now, samples refused for good, samples dropped beyond
// max_backlog. Counts are since the collector started.
func Warnings(fs []*Forwarder) func() []string {
	return func() []string {
		var out []string
		for _, f := range fs {
			s := f.Stats()
			if !s.FailingSince.IsZero() {
				out = append(out, fmt.Sprintf("Forwarding to %s is failing since %s UTC; samples wait in the journal and are retried: %s",
					f.name, s.FailingSince.UTC().Format(time.DateTime), s.LastError))
			}
			if s.SamplesRejected > 0 {
				out = append(out, fmt.Sprintf("%s refused %d samples for good (skipped); last reason: %s", f.name, s.SamplesRejected, s.LastRefusal))
			}
			if s.DroppedSamples > 0 || s.DroppedBytes > 0 {
				out = append(out, fmt.Sprintf("Forwarding to %s dropped data beyond forward.max_backlog: %d samples older than its age, %d journal bytes beyond its size",
					f.name, s.DroppedSamples, s.DroppedBytes))
			}
		}
		return out
	}
}
