package graph

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// RRDTool is a Source that runs `rrdtool fetch` on archives below Dir. It
// reads the files rrdtool's way, for deployments and tests where the
// native engine is not wired; its archive choice is rrdtool's own.
type RRDTool struct {
	Bin string // rrdtool binary; "" means "rrdtool" on PATH
	Dir string // paths are relative to Dir ("" = as given)
}

// Fetch runs rrdtool fetch and parses its text output as it comes,
// stopping rrdtool (ErrTooLarge) once the answer passes MaxRows or
// MaxValues.
func (r RRDTool) Fetch(ctx context.Context, path, cf string, start, end time.Time, resolution time.Duration) (*Table, error) {
	bin := r.Bin
	if bin == "" {
		bin = "rrdtool"
	}
	if r.Dir != "" && !strings.HasPrefix(path, "/") {
		path = r.Dir + "/" + path
	}
	res := max(int64(resolution/time.Second), 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "fetch", path, cf,
		"--start", strconv.FormatInt(start.Unix(), 10), "--end", strconv.FormatInt(end.Unix(), 10),
		"--resolution", strconv.FormatInt(res, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("rrdtool fetch %s %s: %w", path, cf, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rrdtool fetch %s %s: %w", path, cf, err)
	}
	t, perr := parseFetch(out, time.Duration(res)*time.Second, MaxRows, MaxValues)
	if perr != nil {
		cancel() // stops rrdtool if the parse gave up early
	}
	werr := cmd.Wait()
	switch {
	case perr != nil && errors.Is(perr, ErrTooLarge):
		return nil, fmt.Errorf("rrdtool fetch %s %s: %w", path, cf, perr)
	case werr != nil:
		return nil, fmt.Errorf("rrdtool fetch %s %s: %w: %s", path, cf, werr, strings.TrimSpace(stderr.String()))
	case perr != nil:
		return nil, fmt.Errorf("rrdtool fetch %s %s: %w", path, cf, perr)
	}
	return t, nil
}

// ParseFetch parses the text output of `rrdtool fetch`: a header of data
// source names, a blank line, then "stamp: v1 v2 ..." rows with "nan" /
// "-nan" for unknown. The step is the distance between rows; a single row
// takes fallbackStep. Output of more than MaxRows rows or MaxValues values
// is refused (ErrTooLarge).
func ParseFetch(out []byte, fallbackStep time.Duration) (*Table, error) {
	return parseFetch(bytes.NewReader(out), fallbackStep, MaxRows, MaxValues)
}

func parseFetch(r io.Reader, fallbackStep time.Duration, maxRows, maxValues int) (*Table, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	t := &Table{}
	var stamps []int64
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if t.DS == nil {
			t.DS = strings.Fields(line)
			if len(t.DS) == 0 {
				return nil, fmt.Errorf("no data source names")
			}
			continue
		}
		ts, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("row %q: no time stamp", line)
		}
		stamp, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("row %q: %w", line, err)
		}
		fields := strings.Fields(rest)
		if len(fields) != len(t.DS) {
			return nil, fmt.Errorf("row %d has %d values, want %d", stamp, len(fields), len(t.DS))
		}
		row := make([]float64, len(fields))
		for i, f := range fields {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				if lf := strings.ToLower(f); lf == "nan" || lf == "-nan" {
					v = math.NaN()
				} else {
					return nil, fmt.Errorf("row %d value %q: %w", stamp, f, err)
				}
			}
			row[i] = v
		}
		if len(stamps) >= maxRows || (len(stamps)+1)*len(t.DS) > maxValues {
			return nil, fmt.Errorf("%w: more than %d rows or %d values", ErrTooLarge, maxRows, maxValues)
		}
		if n := len(stamps); n > 0 && stamp <= stamps[n-1] {
			return nil, fmt.Errorf("row %d does not follow %d", stamp, stamps[n-1])
		}
		stamps = append(stamps, stamp)
		t.Rows = append(t.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(stamps) == 0 {
		return nil, fmt.Errorf("no rows")
	}
	t.Step = fallbackStep
	if len(stamps) > 1 {
		t.Step = time.Duration(stamps[1]-stamps[0]) * time.Second
		for i := 2; i < len(stamps); i++ {
			if stamps[i]-stamps[i-1] != stamps[1]-stamps[0] {
				return nil, fmt.Errorf("uneven rows at %d", stamps[i])
			}
		}
	}
	if t.Step <= 0 {
		return nil, fmt.Errorf("no step")
	}
	t.Start = time.Unix(stamps[0], 0).Add(-t.Step)
	return t, nil
}
