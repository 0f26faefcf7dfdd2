package graph

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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

// Fetch runs rrdtool fetch and parses its text output.
func (r RRDTool) Fetch(ctx context.Context, path, cf string, start, end time.Time, resolution time.Duration) (*Table, error) {
	bin := r.Bin
	if bin == "" {
		bin = "rrdtool"
	}
	if r.Dir != "" && !strings.HasPrefix(path, "/") {
		path = r.Dir + "/" + path
	}
	res := max(int64(resolution/time.Second), 1)
	cmd := exec.CommandContext(ctx, bin, "fetch", path, cf,
		"--start", strconv.FormatInt(start.Unix(), 10), "--end", strconv.FormatInt(end.Unix(), 10),
		"--resolution", strconv.FormatInt(res, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("rrdtool fetch %s %s: %w: %s", path, cf, err, strings.TrimSpace(stderr.String()))
	}
	t, err := ParseFetch(out, time.Duration(res)*time.Second)
	if err != nil {
		return nil, fmt.Errorf("rrdtool fetch %s %s: %w", path, cf, err)
	}
	return t, nil
}

// ParseFetch parses the text output of `rrdtool fetch`: a header of data
// source names, a blank line, then "stamp: v1 v2 ..." rows with "nan" /
// "-nan" for unknown. The step is the distance between rows; a single row
// takes fallbackStep.
func ParseFetch(out []byte, fallbackStep time.Duration) (*Table, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
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
