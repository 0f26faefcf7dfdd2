package journal

import "testing"

// TestRetainKeepsSegmentsCheckpointWouldDelete: Options.Retain holds back
// the deletion of checkpointed segments a reader still needs, and lets
// them go once it moves.
func TestRetainKeepsSegmentsCheckpointWouldDelete(t *testing.T) {
	dir := t.TempDir()
	var keep Pos
	var gotEnd Pos
	j, err := Open(dir, Options{SegmentBytes: 1024, Retain: func(end Pos) Pos { gotEnd = end; return keep }})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var ends []Pos
	for i := 0; i < 100; i++ {
		p, err := j.Append(rec(i))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, p)
	}
	segs := j.Stats().Segments
	if segs < 5 {
		t.Fatalf("want several segments, got %d", segs)
	}
	if err := j.Checkpoint(ends[90]); err != nil {
		t.Fatal(err)
	}
	if gotEnd != j.End() {
		t.Errorf("Retain got end %d, want %d", gotEnd, j.End())
	}
	if got := j.Stats().Segments; got != segs {
		t.Errorf("segments after checkpoint with Retain at 0: %d, want %d (none deleted)", got, segs)
	}
	if got := len(replayAll(t, j, 0)); got != 100 {
		t.Errorf("records replayable from 0: %d, want 100", got)
	}
	keep = ends[50]
	if err := j.Checkpoint(ends[95]); err != nil {
		t.Fatal(err)
	}
	first := replayAll(t, j, 0)[0]
	if first.Pos > ends[49] {
		t.Errorf("first record kept starts at %d, after the retained position %d", first.Pos, ends[49])
	}
	if got := j.Stats().Segments; got >= segs {
		t.Errorf("segments after Retain moved: %d, want fewer than %d", got, segs)
	}
	if j.Checkpointed() != ends[95] {
		t.Errorf("checkpoint %d, want %d (Retain must not change the applier's checkpoint)", j.Checkpointed(), ends[95])
	}
}
