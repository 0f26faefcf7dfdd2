package cli

import (
	"io"
	"strings"

	"github.com/outpost-nms/outpost/shared/safetext"
)

// A terminal table of device strings. Every cell is made one clean line
// (shared/safetext: control characters and invalid bytes escaped, so a
// device cannot move the cursor or send escape sequences to the operator's
// terminal), cut with an ellipsis to its column's maximum width, and
// padded by display width (wide characters count two columns), so the
// columns stay aligned whatever the device sent.

// column is one column of a table.
type column struct {
	title string
	max   int  // widest cell in display columns; 0: no limit
	right bool // align right (numbers)
}

// writeTable writes the header and the rows, two spaces between columns,
// without trailing spaces.
func writeTable(w io.Writer, cols []column, rows [][]string) error {
	cells := make([][]string, 0, len(rows)+1)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.title
	}
	cells = append(cells, head)
	for _, r := range rows {
		line := make([]string, len(cols))
		for i := range cols {
			if i < len(r) {
				line[i] = cell(r[i], cols[i].max)
			}
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(cols))
	for _, r := range cells {
		for i, s := range r {
			widths[i] = max(widths[i], safetext.Width(s))
		}
	}
	var b strings.Builder
	for _, r := range cells {
		var line strings.Builder
		for i, s := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-safetext.Width(s))
			if cols[i].right {
				line.WriteString(pad + s)
			} else {
				line.WriteString(s + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell cleans a device string for a table cell and cuts it to max display
// columns (0: no cut); an empty value shows as "-".
func cell(s string, max int) string {
	s = safetext.Line(s, safetext.MaxText)
	if s == "" {
		return "-"
	}
	if max > 0 {
		s = safetext.CutWidth(s, max)
	}
	return s
}

// deviceError is an error whose text may quote what a device or server
// sent: printed, it is one clean line (control characters and invalid
// bytes escaped). errors.Is and errors.As see the error it wraps.
type deviceError struct{ err error }

func (e deviceError) Error() string { return safetext.Line(e.err.Error(), safetext.MaxText) }
func (e deviceError) Unwrap() error { return e.err }
