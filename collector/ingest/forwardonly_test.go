package ingest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/shared/status"
)

// TestForwardOnly: without archives (rrd.enabled: false) the applier
// applies the inventory and statuses, creates no archive, applies no
// archive-bytes quota (a quota every archive would exceed refuses
// nothing), and checkpoints the journal to its end; a restart replays
// nothing into files either.
func TestForwardOnly(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		forwardOnly bool
		archives    bool // archive files expected
		refused     bool // a quota refusal expected
	}{
		{"archives", false, true, true},
		{"forward-only", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// The interface's archive (2 data sources) exceeds the quota,
			// the host's (1) does not: with archives the quota refuses
			// the interface; forward-only it does not apply.
			tight := Quotas{ArchiveBytesPerAttr: ArchiveBytes(time.Minute, 1)}
			opts := stackOptions{forwardOnly: tc.forwardOnly, quotas: tight}
			s := openStack(t, dir, opts)
			a := hostileSession(t, s)
			if err := a.send(testSeries("r1")); err != nil {
				t.Fatal(err)
			}
			for seq := uint64(1); seq <= 3; seq++ {
				b := testBatch(seq, 1_700_000_000+int64(seq)*60, seq == 1, "r1", 60)
				if got, err := a.batch(b); err != nil || got != seq {
					t.Fatalf("batch %d: ack %d, %v", seq, got, err)
				}
			}
			s.shutdown(t)
			if got, end := s.j.Checkpointed(), s.j.End(); got != end {
				t.Errorf("journal checkpointed at %d, end %d", got, end)
			}
			files := rrdFiles(t, dir)
			if tc.archives != (len(files) > 0) {
				t.Errorf("archive files %v, want archives: %v", files, tc.archives)
			}
			refusals, err := s.db.Refusals(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var quota bool
			for _, r := range refusals {
				quota = quota || r.Kind == inventory.RefusedQuota
			}
			if quota != tc.refused {
				t.Errorf("quota refusals %+v, want some: %v", refusals, tc.refused)
			}
			if tc.refused {
				return
			}
			at, err := s.db.AttributeByKey(ctx, "r1", "if:eth0")
			if err != nil {
				t.Fatal(err)
			}
			if at.Status != status.Up || len(at.DS) != 2 || at.Name != "eth0" {
				t.Errorf("attribute = %+v", at)
			}
			var m dto.Metric
			if err := s.m.RRDUpdates.Write(&m); err != nil {
				t.Fatal(err)
			}
			if n := m.GetCounter().GetValue(); (n > 0) != tc.archives {
				t.Errorf("rrd updates %v", n)
			}
			if !tc.forwardOnly {
				return
			}
			// A restart replays the journal (from the checkpoint): still no files.
			s2 := openStack(t, dir, opts)
			s2.shutdown(t)
			if files := rrdFiles(t, dir); len(files) > 0 {
				t.Errorf("archive files after restart: %v", files)
			}
		})
	}
}

// rrdFiles lists the .rrd files under dir.
func rrdFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if filepath.Ext(p) == ".rrd" {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}
