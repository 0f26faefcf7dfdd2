// Package forward sends every sample the collector journals to Prometheus
// remote-write stores (Prometheus, Grafana Mimir, VictoriaMetrics, Thanos
// Receive, Cortex), with snmp_exporter-compatible names and labels.
//
// # Guarantees
//
// A Forwarder reads the collector's journal, not memory, from a position
// of its own kept in a file beside the journal (position.go). It reads
// records into chunks, sends each chunk as remote-write 1.0 requests
// (protobuf + snappy) over a fixed number of shards, and moves its
// position past a chunk only when every request of it was accepted or
// refused for good. So:
//
//   - Nothing is lost across a store outage, a collector restart or kill
//     -9: the journal keeps what any forwarder has not sent (Retain), up
//     to max_backlog; the forwarder resumes at its position.
//   - Per-series order is kept: a series always hashes to the same shard,
//     a shard sends its requests one after another, and chunks follow
//     one another. A sample not newer than the last one sent for its
//     series in this process is dropped and counted (a device clock that
//     went back), since every remote-write store refuses it.
//   - The chunk in flight at a crash is sent again at start-up, exactly
//     as it was cut (the position file records where it ended). A store
//     that already committed a request of it answers "out of order" or
//     "duplicate sample": for that chunk only, such answers count as
//     already stored, not as refusals. So do those answers to a request
//     retried after a timeout, a dropped connection or a 5xx (the store
//     may have committed it before failing to answer).
//   - 5xx, 429 and network errors are retried with capped exponential
//     backoff, forever (the backlog bound decides what is given up). A
//     400 is split in halves until the refused series are isolated, so
//     one bad series does not take its request's others down; the refused
//     ones and any other 4xx are logged with the store's reason, counted
//     and skipped.
//   - Beyond max_backlog (bytes of journal behind the position, or age of
//     the records) the oldest records are skipped: counted (Stats.Dropped*),
//     logged and reported in the collector's metrics.
//
// Label values are always valid UTF-8 (invalid sequences replaced), so a
// device string never makes a store refuse a batch.
package forward
