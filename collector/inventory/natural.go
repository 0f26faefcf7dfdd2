package inventory

// Natural order of interface names and keys: "ge-0/0/2" before
// "ge-0/0/10", "Gi1/0/9" before "Gi1/0/10", as operators read them. The
// attribute grid sorts by name and key in this order, in SQL (so paging
// stays in SQL), through a collation registered with the SQLite driver.

import (
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// naturalCollation is the collation's name in SQL: ORDER BY x COLLATE natsort (NATURAL is an SQL keyword).
const naturalCollation = "natsort"

// registerNatural registers the collation with the driver once per
// process (the driver keeps registrations for every connection it opens
// afterwards; a second registration of the name would fail).
var registerNatural = sync.OnceValue(func() error {
	return sqlite.RegisterCollationUtf8(naturalCollation, NaturalCompare)
})

// NaturalCompare orders a and b naturally, returning -1, 0 or +1: runs of
// ASCII digits compare as numbers (leading zeros aside), everything else
// byte by byte, a string before its longer continuations; strings that tie
// (numbers written with different leading zeros) are ordered byte by byte,
// so the order is total. It allocates nothing.
func NaturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return sign(len(na) - len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if ca != cb {
			return sign(int(ca) - int(cb))
		}
		i++
		j++
	}
	if c := sign((len(a) - i) - (len(b) - j)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
