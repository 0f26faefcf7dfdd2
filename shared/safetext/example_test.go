package safetext_test

import (
	"fmt"

	"github.com/outpost-nms/outpost/shared/safetext"
)

func ExampleLine() {
	// An ifAlias in ISO-8859-1 with a terminal escape sequence in it.
	alias := []byte("B\xfcro \x1b[2J2. OG")
	fmt.Println(safetext.LineBytes(alias, safetext.MaxName))
	fmt.Printf("%q\n", safetext.Unescape(safetext.LineBytes(alias, safetext.MaxName)))
	// Output:
	// B\xfcro \x1b[2J2. OG
	// "B\xfcro \x1b[2J2. OG"
}
