package site

import (
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// The agent configuration snippet is written with its own small structs,
// not agent/config's: those hold credentials as secret.Secret, which
// (rightly) never serialise. The simulator's credentials are demo values.
type agentSNMP struct {
	Name      string   `yaml:"name"`
	Address   string   `yaml:"address"`
	Port      int      `yaml:"port"`
	Version   string   `yaml:"version"`
	Community string   `yaml:"community,omitempty"`
	V3        *agentV3 `yaml:"v3,omitempty"`
	HostRes   bool     `yaml:"host_resources"`
}

type agentV3 struct {
	User           string `yaml:"user"`
	Level          string `yaml:"level"`
	AuthProtocol   string `yaml:"auth_protocol,omitempty"`
	AuthPassphrase string `yaml:"auth_passphrase,omitempty"`
	PrivProtocol   string `yaml:"priv_protocol,omitempty"`
	PrivPassphrase string `yaml:"priv_passphrase,omitempty"`
}

type agentNTP struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	Port    int    `yaml:"port"`
}

// WriteAgentConfig writes the `snmp:` and `ntp:` sections of an agent
// configuration (agent/config schema) that poll every simulator of the
// site at its bound port. Append it to a file that has the agent's name,
// collector and spool settings.
func (s *Site) WriteAgentConfig(w io.Writer) error {
	var doc struct {
		SNMP []agentSNMP `yaml:"snmp"`
		NTP  []agentNTP  `yaml:"ntp,omitempty"`
	}
	for _, d := range s.devices {
		t := agentSNMP{Name: d.spec.Name, Address: d.addr.IP.String(), Port: d.addr.Port, Version: "2c", HostRes: true}
		community := d.spec.Community
		if community == "" {
			community = "public"
		}
		if community != "-" {
			t.Community = community
		}
		if v := d.spec.V3; v != nil && community == "-" {
			level := "noAuthNoPriv"
			if v.AuthProto != "" {
				level = "authNoPriv"
			}
			if v.PrivProto != "" {
				level = "authPriv"
			}
			t.Version = "3"
			t.V3 = &agentV3{User: v.User, Level: level, AuthProtocol: v.AuthProto, AuthPassphrase: v.AuthPass,
				PrivProtocol: v.PrivProto, PrivPassphrase: v.PrivPass}
		}
		doc.SNMP = append(doc.SNMP, t)
	}
	for _, n := range s.ntp {
		doc.NTP = append(doc.NTP, agentNTP{Name: n.spec.Name, Address: n.addr.IP.String(), Port: n.addr.Port})
	}
	if _, err := fmt.Fprintf(w, "# Targets of the simulated site (outpost-demo simulate --site).\n"); err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("site: agent config: %w", err)
	}
	return enc.Close()
}
