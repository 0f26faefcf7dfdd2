// Package status defines the six states an attribute of a host can be in,
// their names as users read them, the colours the web UI draws them in
// (pies, badges, bars, legends, CSS), the order they are listed in and the
// order of severity. Every other part of Outpost derives these from here.
//
// The zero value is Unknown, so a freshly created attribute that has never
// been polled reads as Unknown rather than Up.
package status

import (
	"fmt"
	"strings"
)

// Status is the state of one attribute (an interface, NTP sync, an OID...).
type Status uint8

// The states, in the order the UI lists them.
const (
	Unknown   Status = 0 // no answer, or the device reports unknown/dormant
	Up        Status = 1 // working as expected
	Alert     Status = 2 // working, but outside a threshold (e.g. NTP offset)
	Down      Status = 3 // not working
	Testing   Status = 4 // the device reports a test mode
	AdminDown Status = 5 // disabled on purpose by an operator
)

// All lists every status in display order, the data order of the original
// RoseNMS status pie: Up, Alert, Down, Admin Down, Testing, Unknown.
var All = [...]Status{Up, Alert, Down, AdminDown, Testing, Unknown}

// BySeverity lists every status from the most severe to the least: Down,
// Alert, Unknown, Testing, Admin Down, Up. A host's status is the most
// severe of its attributes', and lists sorted by status put Down first.
var BySeverity = [...]Status{Down, Alert, Unknown, Testing, AdminDown, Up}

var names = [...]string{
	Unknown:   "Unknown",
	Up:        "Up",
	Alert:     "Alert",
	Down:      "Down",
	Testing:   "Testing",
	AdminDown: "Admin Down",
}

var colors = [...]string{
	Unknown:   "#222222",
	Up:        "#468847",
	Alert:     "#F89406",
	Down:      "#B94A48",
	Testing:   "#3887AD",
	AdminDown: "#999999",
}

// Valid reports whether s is one of the six defined states.
func (s Status) Valid() bool { return int(s) < len(names) }

// String returns the display name ("Admin Down"), or "Status(N)" for an invalid value.
func (s Status) String() string {
	if !s.Valid() {
		return fmt.Sprintf("Status(%d)", uint8(s))
	}
	return names[s]
}

// Severity is the rank of s in BySeverity: 0 for Down (the most severe) to
// 5 for Up. An invalid status ranks as Unknown.
func (s Status) Severity() int {
	if !s.Valid() {
		s = Unknown
	}
	return severity[s]
}

// severity is the inverse of BySeverity.
var severity = func() (r [len(names)]int) {
	for i, s := range BySeverity {
		r[s] = i
	}
	return r
}()

// Color returns the CSS colour of the state as the RoseNMS status pie has
// it: Up #468847, Alert #F89406, Down #B94A48, Admin Down #999999, Testing
// #3887AD, Unknown #222222.
func (s Status) Color() string {
	if !s.Valid() {
		return colors[Unknown]
	}
	return colors[s]
}

// Slug is the lower-case identifier used in URLs, JSON and CSS classes ("admin-down").
func (s Status) Slug() string {
	return strings.ReplaceAll(strings.ToLower(s.String()), " ", "-")
}

// Parse accepts a display name or a slug, case-insensitively ("Admin Down", "admin-down", "admindown").
func Parse(text string) (Status, error) {
	norm := strings.NewReplacer(" ", "", "-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(text)))
	for _, s := range All {
		if strings.ReplaceAll(strings.ToLower(s.String()), " ", "") == norm {
			return s, nil
		}
	}
	return Unknown, fmt.Errorf("unknown status %q (want one of Up, Alert, Down, Testing, Admin Down, Unknown)", text)
}

// MarshalText encodes the status as its slug.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.Slug()), nil }

// UnmarshalText decodes a slug or display name.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
