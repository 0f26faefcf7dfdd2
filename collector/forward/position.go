package forward

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/outpost-nms/outpost/collector/journal"
	"github.com/outpost-nms/outpost/shared/atomicfile"
)

// position is a forwarder's place in the journal, as its file holds it:
//
//	acked (8) | inflight (8) | CRC32-C of the first 16 bytes (4)
//
// big-endian. Every record ending at or before acked was accepted by the
// store (or refused for good); the records from acked to inflight were
// being sent when the file was written (inflight == acked: none).
type position struct {
	acked, inflight journal.Pos
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readPosition reads a position file; ok is false when there is none.
func readPosition(path string) (p position, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return position{}, false, nil
	}
	if err != nil {
		return position{}, false, fmt.Errorf("forward position: %w", err)
	}
	if len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.BigEndian.Uint32(b[16:]) {
		return position{}, false, fmt.Errorf("forward position file %s is damaged (delete it to forward everything the journal still holds)", path)
	}
	p = position{acked: journal.Pos(binary.BigEndian.Uint64(b)), inflight: journal.Pos(binary.BigEndian.Uint64(b[8:]))}
	if p.inflight < p.acked {
		return position{}, false, fmt.Errorf("forward position file %s: in-flight end %d before acked %d", path, p.inflight, p.acked)
	}
	return p, true, nil
}

// writePosition replaces the position file durably.
func writePosition(path string, p position) error {
	var b [20]byte
	binary.BigEndian.PutUint64(b[:], uint64(p.acked))
	binary.BigEndian.PutUint64(b[8:], uint64(p.inflight))
	binary.BigEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	if err := atomicfile.Write(path, b[:], 0o600); err != nil {
		return fmt.Errorf("forward position: %w", err)
	}
	return nil
}
