package inventory

import (
	"fmt"
	"path"
	"unicode/utf8"
)

// Two agents whose host patterns overlap can each write the other's hosts
// (one takes over what the other polls). `agent add` refuses such a
// pattern unless told otherwise; PatternsOverlap decides it exactly: two
// path.Match patterns overlap iff some host name matches both, found by
// searching the product of the two patterns (each a sequence of '*' and
// single-character sets), not by a heuristic.

// globToken is one element of a parsed pattern: a star ('*', any run of
// characters other than '/') or a set of one character ('?', a class
// '[...]', a literal).
type globToken struct {
	star   bool
	neg    bool      // the set is the complement of ranges (and never '/')
	ranges [][2]rune // inclusive
}

func (t globToken) has(c rune) bool {
	if c == '/' {
		return false // neither '*', '?' nor a negated class match '/'; host names have none
	}
	in := false
	for _, r := range t.ranges {
		if r[0] <= c && c <= r[1] {
			in = true
			break
		}
	}
	return in != t.neg
}

// parseGlob splits a path.Match pattern into tokens.
func parseGlob(p string) ([]globToken, error) {
	if _, err := path.Match(p, ""); err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p, err)
	}
	if !utf8.ValidString(p) {
		return nil, fmt.Errorf("pattern %q: not valid UTF-8", p)
	}
	var out []globToken
	next := func(i int) (rune, int) { r, n := utf8.DecodeRuneInString(p[i:]); return r, i + n }
	for i := 0; i < len(p); {
		c, j := next(i)
		switch c {
		case '*':
			if len(out) == 0 || !out[len(out)-1].star { // "**" is "*"
				out = append(out, globToken{star: true})
			}
			i = j
		case '?':
			out = append(out, globToken{neg: true})
			i = j
		case '\\':
			if j >= len(p) {
				return nil, fmt.Errorf("pattern %q: %w", p, path.ErrBadPattern)
			}
			lit, k := next(j)
			out = append(out, globToken{ranges: [][2]rune{{lit, lit}}})
			i = k
		case '[':
			t := globToken{}
			k := j
			if k < len(p) && p[k] == '^' {
				t.neg = true
				k++
			}
			for first := true; ; first = false {
				if k >= len(p) {
					return nil, fmt.Errorf("pattern %q: %w", p, path.ErrBadPattern)
				}
				if p[k] == ']' && !first {
					k++
					break
				}
				lo, k2, err := classChar(p, k)
				if err != nil {
					return nil, err
				}
				hi := lo
				k = k2
				if k < len(p) && p[k] == '-' {
					if hi, k, err = classChar(p, k+1); err != nil {
						return nil, err
					}
				}
				t.ranges = append(t.ranges, [2]rune{lo, hi})
			}
			out = append(out, t)
			i = k
		default:
			out = append(out, globToken{ranges: [][2]rune{{c, c}}})
			i = j
		}
	}
	return out, nil
}

// classChar reads one (possibly escaped) character of a class at p[i].
func classChar(p string, i int) (rune, int, error) {
	if i >= len(p) || p[i] == '-' || p[i] == ']' {
		return 0, 0, fmt.Errorf("pattern %q: %w", p, path.ErrBadPattern)
	}
	if p[i] == '\\' {
		i++
		if i >= len(p) {
			return 0, 0, fmt.Errorf("pattern %q: %w", p, path.ErrBadPattern)
		}
	}
	r, n := utf8.DecodeRuneInString(p[i:])
	return r, i + n, nil
}

// common returns a character both sets hold (ok false if none). Membership
// changes only at range ends, so the candidates are every range end and its
// neighbours, and the ends of the alphabet: each region between two
// boundaries contains one of them.
func common(a, b globToken) (rune, bool) {
	cands := []rune{0, 'a', '0', '/' - 1, '/' + 1, utf8.MaxRune}
	for _, t := range []globToken{a, b} {
		for _, r := range t.ranges {
			cands = append(cands, r[0], r[1], r[0]-1, r[1]+1)
		}
	}
	for _, c := range cands {
		if c >= 0 && c <= utf8.MaxRune && utf8.ValidRune(c) && a.has(c) && b.has(c) {
			return c, true
		}
	}
	return 0, false
}

// PatternsOverlap reports whether some host name matches both path.Match
// patterns a and b, and returns one such name (a short one).
func PatternsOverlap(a, b string) (witness string, overlap bool, err error) {
	ta, err := parseGlob(a)
	if err != nil {
		return "", false, err
	}
	tb, err := parseGlob(b)
	if err != nil {
		return "", false, err
	}
	// Breadth-first search over (position in a, position in b); epsilon
	// moves skip a star, character moves consume one character both
	// tokens accept (a star accepts any and stays). The first accepting
	// state reached carries a shortest witness.
	any := globToken{neg: true}
	type state struct{ i, j int }
	type visit struct {
		from state
		c    rune
		eps  bool
	}
	seen := map[state]visit{{0, 0}: {from: state{-1, -1}}}
	queue := []state{{0, 0}}
	// Epsilon moves go to the front (0-1 BFS) so a shortest witness wins.
	push := func(from, to state, c rune, eps bool) {
		if _, ok := seen[to]; ok {
			return
		}
		seen[to] = visit{from: from, c: c, eps: eps}
		if eps {
			queue = append([]state{to}, queue...)
		} else {
			queue = append(queue, to)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s.i == len(ta) && s.j == len(tb) {
			var rs []rune
			for cur := s; cur.i >= 0; {
				v := seen[cur]
				if v.from.i < 0 {
					break
				}
				if !v.eps {
					rs = append(rs, v.c)
				}
				cur = v.from
			}
			for l, r := 0, len(rs)-1; l < r; l, r = l+1, r-1 {
				rs[l], rs[r] = rs[r], rs[l]
			}
			return string(rs), true, nil
		}
		if s.i < len(ta) && ta[s.i].star {
			push(s, state{s.i + 1, s.j}, 0, true)
		}
		if s.j < len(tb) && tb[s.j].star {
			push(s, state{s.i, s.j + 1}, 0, true)
		}
		if s.i == len(ta) || s.j == len(tb) {
			continue
		}
		x, y := ta[s.i], tb[s.j]
		switch {
		case x.star && y.star:
			// consuming under both stars leads back here
		case x.star:
			if c, ok := common(any, y); ok {
				push(s, state{s.i, s.j + 1}, c, false)
			}
		case y.star:
			if c, ok := common(x, any); ok {
				push(s, state{s.i + 1, s.j}, c, false)
			}
		default:
			if c, ok := common(x, y); ok {
				push(s, state{s.i + 1, s.j + 1}, c, false)
			}
		}
	}
	return "", false, nil
}

// Overlap is a pattern of a new agent that overlaps one of another's.
type Overlap struct {
	Pattern      string // the new pattern
	Agent        string // the other agent
	AgentPattern string // its pattern
	Example      string // a host name both match
}

// PatternOverlaps returns, for the patterns an agent named name is to
// have, every overlap with another agent's pattern (revoked agents
// included: they may be re-enabled by a new certificate).
func PatternOverlaps(agents []Agent, name string, patterns []string) ([]Overlap, error) {
	var out []Overlap
	for _, a := range agents {
		if a.Name == name {
			continue
		}
		for _, p := range patterns {
			for _, q := range a.Hosts {
				ex, ok, err := PatternsOverlap(p, q)
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, Overlap{Pattern: p, Agent: a.Name, AgentPattern: q, Example: ex})
				}
			}
		}
	}
	return out, nil
}
