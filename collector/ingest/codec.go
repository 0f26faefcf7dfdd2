package ingest

// RecordCodec encodes and decodes journal records for readers of the
// journal other than the applier (the forwarder), under the same limits
// the applier decodes with. Safe for concurrent use.
type RecordCodec struct{ c *recordCodec }

// NewRecordCodec returns a codec for journal records.
func NewRecordCodec() (*RecordCodec, error) {
	c, err := newRecordCodec()
	if err != nil {
		return nil, err
	}
	return &RecordCodec{c: c}, nil
}

// Marshal encodes r as the journal stores it.
func (rc *RecordCodec) Marshal(r *Record) ([]byte, error) { return rc.c.marshal(r) }

// Unmarshal decodes one journal record (map or the older array form).
func (rc *RecordCodec) Unmarshal(b []byte) (*Record, error) { return rc.c.unmarshal(b) }
