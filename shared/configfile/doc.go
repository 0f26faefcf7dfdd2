// Package configfile decodes YAML configuration files strictly, for both
// binaries: an unknown key, a wrong type, a bad duration or size, a file that
// is not UTF-8 or not YAML all give one error naming the file, the line and
// the field path (agent.yaml:12: snmp[2].timeout: invalid duration "5 sec").
//
// It also holds the value types configs share: Duration and Size.
package configfile
