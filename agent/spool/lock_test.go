package spool

import (
	"errors"
	"testing"

	"github.com/outpost-nms/outpost/shared/dirlock"
)

// TestOneProcessPerSpool: a second Open of a spool in use fails at once
// (two agents on one spool would interleave their writes); after Close the
// spool opens again.
func TestOneProcessPerSpool(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, FsyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: dir, FsyncInterval: -1}); !errors.Is(err, dirlock.ErrLocked) {
		t.Fatalf("second Open of a spool in use: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir, FsyncInterval: -1})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
}
