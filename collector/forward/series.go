package forward

import (
	"context"
	"math"
	"sort"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/outpost-nms/outpost/shared/sample"
	"github.com/outpost-nms/outpost/shared/wire"
)

// Label is one label of a series.
type Label struct{ Name, Value string }

// Series is one forwarded series: its sorted labels (with __name__) and
// the hash that picks its shard and keys its last-sent time.
type Series struct {
	Labels []Label
	Hash   uint64
	enc    []byte // the labels' protobuf encoding

	// State of the forwarder's reading goroutine, kept here rather than
	// in maps looked up per sample.
	last     int64 // time of the last sample taken (Unix ms), valid if hasLast
	hasLast  bool
	chunkGen uint64  // the chunk this series has samples in
	pend     pending // those samples
}

// AttrInfo is what the mapping needs of an attribute beyond the journal
// record: its kind and properties (ifIndex, ifName, ifDescr, ifAlias, ...).
type AttrInfo struct {
	Kind  string
	Name  string
	Props map[string]string
}

// Inventory looks up an attribute the journal records do not describe
// (their inventory was journaled before the forwarder's position).
// ok is false for an attribute the inventory does not know.
type Inventory interface {
	Attr(ctx context.Context, host, key string) (a AttrInfo, ok bool, err error)
}

// ifCounters maps an interface data source to its IF-MIB object names:
// 64-bit (ifXTable HC column, "" if none) and 32-bit.
var ifCounters = map[string][2]string{
	"in_octets":    {"ifHCInOctets", "ifInOctets"},
	"out_octets":   {"ifHCOutOctets", "ifOutOctets"},
	"in_ucast":     {"ifHCInUcastPkts", "ifInUcastPkts"},
	"out_ucast":    {"ifHCOutUcastPkts", "ifOutUcastPkts"},
	"in_mcast":     {"ifHCInMulticastPkts", "ifInMulticastPkts"},
	"out_mcast":    {"ifHCOutMulticastPkts", "ifOutMulticastPkts"},
	"in_bcast":     {"ifHCInBroadcastPkts", "ifInBroadcastPkts"},
	"out_bcast":    {"ifHCOutBroadcastPkts", "ifOutBroadcastPkts"},
	"in_errors":    {"", "ifInErrors"},
	"out_errors":   {"", "ifOutErrors"},
	"in_discards":  {"", "ifInDiscards"},
	"out_discards": {"", "ifOutDiscards"},
}

// gaugeNames maps (attribute kind, data source) to a metric name.
var gaugeNames = map[[2]string]string{
	{wire.KindHost, "rtt"}:       "outpost_host_rtt_seconds",
	{wire.KindHost, "reachable"}: "outpost_host_reachable",
	{wire.KindNTP, "offset"}:     "outpost_ntp_offset_seconds",
	{wire.KindNTP, "jitter"}:     "outpost_ntp_jitter_seconds",
	{wire.KindNTP, "stratum"}:    "outpost_ntp_stratum",
	{wire.KindNTP, "synced"}:     "outpost_ntp_synced",
	{wire.KindNTPPeer, "offset"}: "outpost_ntp_peer_offset_seconds",
	{wire.KindNTPPeer, "delay"}:  "outpost_ntp_peer_delay_seconds",
	{wire.KindNTPPeer, "jitter"}: "outpost_ntp_peer_jitter_seconds",
	{wire.KindNTPPeer, "reach"}:  "outpost_ntp_peer_reach",
	{wire.KindStorage, "size"}:   "outpost_storage_size_bytes",
	{wire.KindStorage, "used"}:   "outpost_storage_used_bytes",
	{wire.KindProcessor, "load"}: "outpost_processor_load_percent",
	{wire.KindOID, "value"}:      "outpost_oid_value",
}

// StatusMetric is the name of the attribute status series: one series per
// status of every attribute, 1 for the current one and 0 for the others
// (a state set, so a change shows at once rather than after staleness).
const StatusMetric = "outpost_attribute_status"

// kindOfKey derives an attribute's kind from its key when the inventory
// does not know it (the agents' key prefixes, wire.Kind*).
func kindOfKey(key string) string {
	switch {
	case key == "host":
		return wire.KindHost
	case key == "ntp":
		return wire.KindNTP
	case strings.HasPrefix(key, "if:"):
		return wire.KindInterface
	case strings.HasPrefix(key, "ntp-peer:"):
		return wire.KindNTPPeer
	case strings.HasPrefix(key, "storage:"):
		return wire.KindStorage
	case strings.HasPrefix(key, "cpu:"):
		return wire.KindProcessor
	case strings.HasPrefix(key, "oid:"):
		return wire.KindOID
	}
	return ""
}

// metricName returns the name of data source ds (of kind k) of an
// attribute of kind attrKind, and whether it is a counter.
func metricName(attrKind, ds string, k sample.Kind) (string, bool) {
	counter := k == sample.Counter32 || k == sample.Counter64 || k == sample.Derive || k == sample.Absolute
	if attrKind == wire.KindInterface {
		if n, ok := ifCounters[ds]; ok {
			if k == sample.Counter64 && n[0] != "" {
				return n[0], true
			}
			return n[1], true
		}
	}
	if n := gaugeNames[[2]string{attrKind, ds}]; n != "" {
		if attrKind == wire.KindOID && counter {
			return "outpost_oid_total", true
		}
		return n, counter
	}
	// Anything else (a data source a later agent adds): a clear generic name.
	if counter {
		return "outpost_attribute_total", true
	}
	return "outpost_attribute_value", false
}

// labelValue makes a label value valid UTF-8.
func labelValue(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// attrLabels returns the labels of an attribute's series besides
// __name__, host and agent: the snmp_exporter ones for interfaces.
func attrLabels(key string, a AttrInfo) []Label {
	ls := []Label{{"attribute", key}}
	add := func(name, v string) {
		if v != "" {
			ls = append(ls, Label{name, v})
		}
	}
	p := a.Props
	switch a.Kind {
	case wire.KindInterface:
		add("ifIndex", p["ifIndex"])
		add("ifName", p["ifName"])
		add("ifDescr", p["ifDescr"])
		add("ifAlias", p["ifAlias"])
	case wire.KindStorage:
		add("hrStorageIndex", p["hrStorageIndex"])
		add("hrStorageDescr", strings.TrimPrefix(key, "storage:"))
	case wire.KindProcessor:
		add("hrDeviceIndex", p["hrDeviceIndex"])
	case wire.KindOID:
		add("name", strings.TrimPrefix(key, "oid:"))
		add("oid", p["oid"])
	case wire.KindNTPPeer:
		add("peer", strings.TrimPrefix(key, "ntp-peer:"))
	}
	return ls
}

// newSeries builds a series from its name, host, agent and attribute
// labels (extra are appended), sorting and hashing them.
func newSeries(name, host, agent string, attr []Label, extra ...Label) *Series {
	ls := make([]Label, 0, 3+len(attr)+len(extra))
	ls = append(ls, Label{"__name__", name}, Label{"host", host})
	if agent != "" {
		ls = append(ls, Label{"agent", agent})
	}
	ls = append(ls, attr...)
	ls = append(ls, extra...)
	for i := range ls {
		ls[i].Value = labelValue(ls[i].Value)
	}
	sort.Slice(ls, func(a, b int) bool { return ls[a].Name < ls[b].Name })
	// A fixed hash (not maphash's random seed): shards must be the same
	// after a restart, so the chunk sent again splits as it did.
	h := xxhash.New()
	for _, l := range ls {
		h.WriteString(l.Name)
		h.Write([]byte{0xff})
		h.WriteString(l.Value)
		h.Write([]byte{0xfe})
	}
	return &Series{Labels: ls, Hash: h.Sum64(), enc: encodeLabels(ls)}
}

// value returns a data source reading as a sample value, and false when it
// carries none (an unknown: a gauge after a discontinuity, or NaN).
func value(v float64, u uint64, k sample.Kind, reset bool) (float64, bool) {
	if k.IsInteger() {
		// Raw counter values, as snmp_exporter sends them: the store's
		// rate() handles wraps and device restarts as counter resets.
		return float64(u), true
	}
	if reset || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}
