// Package secret holds configuration values that must never reach a log,
// an error message or a UI: SNMP communities, v3 passphrases, tokens.
package secret

import "log/slog"

// Redacted is what a Secret prints as.
const Redacted = "[redacted]"

// Secret is a string that prints as Redacted through fmt, slog and JSON.
// Call Reveal where the real value is needed (building a request).
type Secret struct{ v string }

// New wraps a value.
func New(v string) Secret { return Secret{v: v} }

// Reveal returns the real value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether no value is set.
func (s Secret) IsZero() bool { return s.v == "" }

// String implements fmt.Stringer with the redacted text.
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return Redacted
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return "secret.Secret{" + Redacted + "}" }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText makes encoders (JSON, YAML) write the redacted text.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText stores the real value (config decoding).
func (s *Secret) UnmarshalText(b []byte) error { s.v = string(b); return nil }
