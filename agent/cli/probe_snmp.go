package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/snmp"
	"github.com/outpost-nms/outpost/shared/configfile"
	"github.com/outpost-nms/outpost/shared/safetext"
	"github.com/outpost-nms/outpost/shared/secret"
)

// newProbeSNMPCmd is `outpost-agent probe snmp`: discover one device with
// net-snmp style flags and print its system group and interface table.
func newProbeSNMPCmd() *cobra.Command {
	var (
		version, community, user, level, authProto, authPass, privProto, privPass, contextName string
		timeout                                                                                float64
		retries                                                                                int
		asJSON                                                                                 bool
	)
	cmd := &cobra.Command{
		Use:   "snmp [flags] HOST[:PORT]",
		Short: "Discover an SNMP device and print its system info and interfaces",
		Long: `Discover an SNMP device once, the way the agent does, and print the
system group and the interface table (index, name, description, alias, type,
speed, admin and oper status, the status the agent reports, and whether
64-bit HC counters are used). Flags follow net-snmp (snmpget/snmpwalk).
Exits non-zero with an explanation when the device does not answer or
refuses the credentials; secrets are never printed.`,
		Example: `  outpost-agent probe snmp -v 2c -c public 192.0.2.1
  outpost-agent probe snmp -v 3 -l authPriv -u monitor -a SHA-256 -A 'auth pass' -x AES -X 'priv pass' switch1:1161`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, port, err := splitHostPort(args[0])
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			r := retries
			set := config.SNMPSettings{
				Port: port, Version: version, Community: secret.New(community),
				Timeout: configfile.Duration(time.Duration(timeout * float64(time.Second))),
				Retries: &r,
			}
			if strings.TrimPrefix(strings.ToLower(version), "v") == "3" {
				set.V3 = &config.SNMPv3{User: user, Level: level, AuthProtocol: authProto, AuthPassphrase: secret.New(authPass),
					PrivProtocol: privProto, PrivPassphrase: secret.New(privPass), Context: contextName}
			}
			t, err := snmp.New(config.SNMPTarget{Name: host, Address: host, SNMPSettings: set}, snmp.Options{})
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			defer t.Close()
			dev, err := t.Discover(cmd.Context())
			if err != nil {
				return &ExitError{Code: 1, Err: deviceError{err}}
			}
			if asJSON {
				return writeProbeJSON(cmd.OutOrStdout(), dev)
			}
			return writeProbeText(cmd.OutOrStdout(), dev)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&version, "version", "v", "2c", "SNMP version: 1, 2c or 3")
	f.StringVarP(&community, "community", "c", "public", "community (v1/v2c)")
	f.StringVarP(&user, "user", "u", "", "v3 user name")
	f.StringVarP(&level, "level", "l", "", "v3 security level: noAuthNoPriv, authNoPriv, authPriv (default: from the passphrases given)")
	f.StringVarP(&authProto, "auth-protocol", "a", "", "v3 authentication protocol: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512")
	f.StringVarP(&authPass, "auth-passphrase", "A", "", "v3 authentication passphrase")
	f.StringVarP(&privProto, "priv-protocol", "x", "", "v3 privacy protocol: DES, AES, AES-192, AES-256, AES-192-C, AES-256-C")
	f.StringVarP(&privPass, "priv-passphrase", "X", "", "v3 privacy passphrase")
	f.StringVarP(&contextName, "context", "n", "", "v3 context name")
	f.Float64VarP(&timeout, "timeout", "t", 1, "timeout per request, seconds")
	f.IntVarP(&retries, "retries", "r", 5, "retries per request")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	// -v is the SNMP version here, as in net-snmp; -h stays help.
	return cmd
}

func splitHostPort(arg string) (string, int, error) {
	arg = strings.TrimPrefix(strings.TrimPrefix(arg, "udp:"), "udp6:")
	host, portText, err := net.SplitHostPort(arg)
	if err != nil {
		// No port: a name, an IPv4 address or a bare IPv6 address.
		return strings.Trim(arg, "[]"), 161, nil
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("invalid port in %q", arg)
	}
	return host, port, nil
}

// probeInterface is one row of the printed table.
type probeInterface struct {
	Index  uint32 `json:"index"`
	Name   string `json:"name"`
	Descr  string `json:"descr"`
	Alias  string `json:"alias"`
	Type   int    `json:"type"`
	Speed  uint64 `json:"speed_bps"`
	Admin  string `json:"admin"`
	Oper   string `json:"oper"`
	Status string `json:"status"`
	HC     bool   `json:"hc"`
	Key    string `json:"key"`
}

func probeRows(dev *snmp.Device) []probeInterface {
	rows := make([]probeInterface, 0, len(dev.Interfaces))
	for _, r := range dev.Interfaces {
		st, _ := snmp.InterfaceStatus(r.AdminStatus, r.OperStatus)
		rows = append(rows, probeInterface{
			Index: r.Index, Name: r.Name, Descr: r.Descr, Alias: r.Alias, Type: r.Type, Speed: r.Speed,
			Admin: r.AdminStatus.String(), Oper: r.OperStatus.String(),
			Status: st.String(), HC: r.HC, Key: "if:" + r.Identity,
		})
	}
	return rows
}

func writeProbeJSON(w io.Writer, dev *snmp.Device) error {
	out := struct {
		System     snmp.System      `json:"system"`
		Interfaces []probeInterface `json:"interfaces"`
		probeDevice
	}{dev.System, probeRows(dev), probeDeviceOf(dev)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// Widest NAME, DESCR and ALIAS cells of the table, in display columns;
// longer values are cut with an ellipsis (--json has them in full).
const (
	probeNameWidth  = 24
	probeDescrWidth = 32
	probeAliasWidth = 32
	// probeSystemWidth cuts the system group's values (sysDescr can be
	// 2 KB of text on one line).
	probeSystemWidth = 400
)

// writeProbeText prints the system group and the interface table. Every
// device string is printed cleaned (see writeTable), so the terminal shows
// escapes such as \x1b instead of obeying them.
func writeProbeText(w io.Writer, dev *snmp.Device) error {
	s := dev.System
	line := func(v string) string { return safetext.CutWidth(safetext.Line(v, safetext.MaxText), probeSystemWidth) }
	if _, err := fmt.Fprintf(w, "sysName:     %s\nsysDescr:    %s\nsysObjectID: %s\nsysUpTime:   %s\nsysLocation: %s\nsysContact:  %s\n\n",
		line(s.Name), line(oneLine(s.Descr)), line(s.ObjectID), (time.Duration(s.UpTime) * 10 * time.Millisecond).String(), line(s.Location), line(s.Contact)); err != nil {
		return err
	}
	cols := []column{{title: "INDEX", right: true}, {title: "NAME", max: probeNameWidth}, {title: "DESCR", max: probeDescrWidth},
		{title: "ALIAS", max: probeAliasWidth}, {title: "TYPE", right: true}, {title: "SPEED", right: true},
		{title: "ADMIN"}, {title: "OPER"}, {title: "STATUS"}, {title: "HC"}}
	var rows [][]string
	for _, r := range probeRows(dev) {
		hc := "no"
		if r.HC {
			hc = "yes"
		}
		rows = append(rows, []string{strconv.FormatUint(uint64(r.Index), 10), r.Name, oneLine(r.Descr), r.Alias,
			strconv.Itoa(r.Type), speedText(r.Speed), r.Admin, r.Oper, r.Status, hc})
	}
	if err := writeTable(w, cols, rows); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "\n%d interfaces\n", len(dev.Interfaces)); err != nil {
		return err
	}
	return writeProbeDevice(w, dev)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func speedText(bps uint64) string {
	switch {
	case bps == 0:
		return "-"
	case bps%1_000_000_000 == 0:
		return strconv.FormatUint(bps/1_000_000_000, 10) + "G"
	case bps%1_000_000 == 0:
		return strconv.FormatUint(bps/1_000_000, 10) + "M"
	case bps%1_000 == 0:
		return strconv.FormatUint(bps/1_000, 10) + "k"
	}
	return strconv.FormatUint(bps, 10)
}
