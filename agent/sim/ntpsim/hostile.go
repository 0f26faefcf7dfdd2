package ntpsim

// XSSMarker is the global variable the markup among the hostile values
// sets (window.__outpostXSS = 1) if a page ever runs it (the same as
// snmpsim.XSSMarker).
const XSSMarker = "__outpostXSS"

// HostileSystem returns sys answering hostile system variables: a version
// string with terminal escape sequences (clear screen, set the window
// title), markup and bytes above 126, a refid with markup and a
// processor with NUL and CR, and sys_jitter "nan".
func HostileSystem(sys System) System {
	out := sys
	out.Vars = map[string]string{
		"version":    "\"ntpd \x1b[2J\x1b]0;owned\x07<script>window." + XSSMarker + "=1</script> \xff\xfe\"",
		"refid":      "<img src=x onerror=window." + XSSMarker + "=1>",
		"processor":  "\"x86\x00_64\rover\"",
		"sys_jitter": "nan",
	}
	return out
}

// HostilePeers returns peers whose first three associations answer hostile
// variables (later ones are unchanged):
//   - the first: an address with markup (it names the peer's attribute),
//     offset -1e20 ms;
//   - the second: an address that climbs out of a directory, a refid with
//     an escape sequence, delay -5 ms, jitter inf, stratum 99;
//   - the third: no address, a srchost with NUL, bytes above 126 and
//     Latin-1, offset NaN, reach 0x1ff (not an 8-bit register).
func HostilePeers(peers []Peer) []Peer {
	out := append([]Peer(nil), peers...)
	hostile := []map[string]string{
		{
			"srcadr": "192.0.2.66\"><script>window." + XSSMarker + "=1</script>",
			"offset": "-100000000000000000000.000000",
		},
		{
			"srcadr":  "../../../../tmp/outpost-escape",
			"refid":   "\x1b[31mRED\x1b[0m",
			"delay":   "-5.000000",
			"jitter":  "inf",
			"stratum": "99",
		},
		{
			"srcadr":  "0.0.0.0",
			"srchost": "\"\x00NUL\xffB\xfcro<b>\"",
			"offset":  "NaN",
			"reach":   "0x1ff",
		},
	}
	for i := range out {
		if i < len(hostile) {
			out[i].Vars = hostile[i]
		}
	}
	return out
}
