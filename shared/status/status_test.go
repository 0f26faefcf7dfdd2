package status

import "testing"

func TestNamesColorsAndParse(t *testing.T) {
	tests := []struct {
		s     Status
		name  string
		slug  string
		color string
	}{
		{Up, "Up", "up", "#468847"},
		{Alert, "Alert", "alert", "#F89406"},
		{Down, "Down", "down", "#B94A48"},
		{AdminDown, "Admin Down", "admin-down", "#999999"},
		{Testing, "Testing", "testing", "#3887AD"},
		{Unknown, "Unknown", "unknown", "#222222"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.s, got, tt.name)
		}
		if got := tt.s.Slug(); got != tt.slug {
			t.Errorf("%v.Slug() = %q, want %q", tt.s, got, tt.slug)
		}
		if got := tt.s.Color(); got != tt.color {
			t.Errorf("%v.Color() = %q, want %q", tt.s, got, tt.color)
		}
		for _, in := range []string{tt.name, tt.slug, " " + tt.name + " "} {
			got, err := Parse(in)
			if err != nil || got != tt.s {
				t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, tt.s)
			}
		}
	}
	if _, err := Parse("sideways"); err == nil {
		t.Error("Parse(sideways) succeeded")
	}
	if Status(9).Valid() || Status(9).String() != "Status(9)" {
		t.Error("invalid status not reported as such")
	}
	if len(All) != 6 {
		t.Errorf("All has %d states", len(All))
	}
}

// The display order and colours are the original RoseNMS status pie's, in
// its data order; severity puts Down first and Up last.
func TestPieOrderAndSeverity(t *testing.T) {
	want := []struct {
		s     Status
		color string
	}{{Up, "#468847"}, {Alert, "#F89406"}, {Down, "#B94A48"}, {AdminDown, "#999999"}, {Testing, "#3887AD"}, {Unknown, "#222222"}}
	for i, w := range want {
		if All[i] != w.s || All[i].Color() != w.color {
			t.Errorf("All[%d] = %v %s, want %v %s", i, All[i], All[i].Color(), w.s, w.color)
		}
	}
	for i, s := range []Status{Down, Alert, Unknown, Testing, AdminDown, Up} {
		if BySeverity[i] != s || s.Severity() != i {
			t.Errorf("severity %d: %v (rank %d), want %v", i, BySeverity[i], BySeverity[i].Severity(), s)
		}
	}
	if Status(9).Severity() != Unknown.Severity() {
		t.Error("an invalid status does not rank as Unknown")
	}
}
