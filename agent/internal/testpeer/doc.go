// Package testpeer starts real network peers (net-snmp snmpd, ntpsec ntpd,
// snmpsimd serving recordings of real devices, and others)
// for integration tests. Every peer runs on 127.0.0.1 with its own
// configuration and state under t.TempDir(), is killed in t.Cleanup, and
// shows its log when the test fails. A missing daemon skips the test on a
// developer machine and fails it in CI (shared/testbed).
//
// It is imported only by _test.go files.
package testpeer
