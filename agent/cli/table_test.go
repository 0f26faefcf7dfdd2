package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// TestWriteTable: cells are cleaned, cut to their column with an
// ellipsis, and padded by display width, so wide characters, combining
// marks and escapes keep the columns aligned.
func TestWriteTable(t *testing.T) {
	cols := []column{{title: "N", right: true}, {title: "NAME", max: 8}, {title: "DESCR"}}
	rows := [][]string{
		{"1", "ge-0/0/1", "plain"},
		{"2", "東京都庁舎の回線", "wide, cut"},
		{"10", "e\u0301te\u0301", "combining"},
		{"3", "\x1b[2J\xff", "escape\r\n"},
		{"4", "", "empty name"},
	}
	var b bytes.Buffer
	if err := writeTable(&b, cols, rows); err != nil {
		t.Fatal(err)
	}
	want := " N  NAME      DESCR\n" +
		" 1  ge-0/0/1  plain\n" +
		" 2  東京都…   wide, cut\n" +
		"10  e\u0301te\u0301       combining\n" +
		` 3  \x1b[2J…  escape\x0d\x0a` + "\n" +
		" 4  -         empty name\n"
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if l != "" && safetext.Width(l[:strings.LastIndex(l, "  ")]) != 12 {
			t.Errorf("misaligned: %q", l)
		}
	}
}

func TestDeviceErrorIsClean(t *testing.T) {
	err := deviceError{errTest("decode \x1b]0;owned\x07 \xff")}
	if got := err.Error(); got != `decode \x1b]0;owned\x07 \xff` {
		t.Errorf("Error() = %q", got)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
