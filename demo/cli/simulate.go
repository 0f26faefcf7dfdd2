package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/agent/sim/site"
)

// newSimulateCmd is `outpost-demo simulate`: one simulated SNMP device, or
// a whole simulated site, on loopback until interrupted.
func newSimulateCmd() *cobra.Command {
	var (
		siteMode     bool
		specFile     string
		agentConfig  string
		listen       string
		dev          site.Device
		v3           site.V3
		restartEvery time.Duration
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Run a simulated SNMP device (or a whole simulated site) on loopback",
		Long: `Run a simulated SNMP device answering v1, v2c and v3 (USM) with a
generated IF-MIB interface table (ifTable, ifXTable), the system group and a
few HOST-RESOURCES objects. Counters follow each port's traffic curve
exactly, 32-bit counters wrap, restarts reset them. For demos, tests and
benchmarks of pollers.

With --site (or --spec FILE), run a whole site instead: several devices on
their own loopback ports (one port admin-down, one flapping, one device
restarting on a schedule) and simulated NTP servers answering mode 6.
--agent-config writes the matching snmp:/ntp: sections of an agent
configuration. The addresses are printed; Ctrl-C stops.`,
		Example: `  outpost-demo simulate --interfaces 1000 --listen 127.0.0.1:1161 --community public
  outpost-demo simulate --v3-user ops --v3-auth-pass ops-auth-pass --v3-priv-pass ops-priv-pass
  outpost-demo simulate --site --agent-config site-targets.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var spec site.Spec
			switch {
			case specFile != "":
				s, err := site.LoadSpec(specFile)
				if err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				spec = s
			case siteMode:
				spec = site.DefaultSpec()
			default:
				host, port, err := net.SplitHostPort(listen)
				if err != nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("--listen %q: %w", listen, err)}
				}
				if dev.Port, err = strconv.Atoi(port); err != nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("--listen %q: bad port", listen)}
				}
				if v3.User != "" {
					dev.V3 = &v3
				}
				dev.RestartEvery = restartEvery
				spec = site.Spec{Host: host, Devices: []site.Device{dev}}
			}
			s, err := site.Start(cmd.Context(), spec, site.Options{Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))})
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			defer s.Close()
			out := cmd.OutOrStdout()
			if err := s.WriteAddresses(out); err != nil {
				return err
			}
			if agentConfig != "" {
				if err := writeAgentConfig(s, agentConfig, out); err != nil {
					return err
				}
			}
			fmt.Fprintln(out, "simulating; interrupt (Ctrl-C) to stop")
			if err := s.Run(cmd.Context(), time.Second); err != nil {
				return err
			}
			return s.Close()
		},
	}
	f := cmd.Flags()
	f.BoolVar(&siteMode, "site", false, "run the demo site (7 devices, 2 NTP servers) instead of one device")
	f.StringVar(&specFile, "spec", "", "run the site described by this YAML file (see agent/sim/site)")
	f.StringVar(&agentConfig, "agent-config", "", `write the agent's snmp:/ntp: target sections to this file ("-": stdout)`)
	f.StringVar(&listen, "listen", "127.0.0.1:1161", "UDP address of the single device (port 0: any free port)")
	f.StringVar(&dev.Name, "name", "sim-device", "sysName of the single device")
	f.IntVar(&dev.Interfaces, "interfaces", 48, "number of generated interfaces")
	f.Int64Var(&dev.Seed, "seed", 0, "seed of the generated interfaces (0: derived from the name)")
	f.StringVar(&dev.Community, "community", "public", `v1/v2c community ("-" disables v1/v2c)`)
	f.IntVar(&dev.MaxMsgSize, "max-msg-size", 1472, "largest response in bytes (484-65507)")
	f.DurationVar(&restartEvery, "restart-every", 0, "restart the device on this period (0: never)")
	f.BoolVar(&dev.Renumber, "renumber", false, "renumber ifIndex on every scheduled restart")
	f.StringVar(&v3.User, "v3-user", "", "SNMPv3 user name (enables v3)")
	f.StringVar(&v3.AuthProto, "v3-auth-proto", "SHA", "v3 auth protocol: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512, or \"\"")
	f.StringVar(&v3.AuthPass, "v3-auth-pass", "", "v3 authentication passphrase (a simulator credential)")
	f.StringVar(&v3.PrivProto, "v3-priv-proto", "AES", "v3 privacy protocol: DES, AES, AES-192, AES-256, AES-192-C, AES-256-C, or \"\"")
	f.StringVar(&v3.PrivPass, "v3-priv-pass", "", "v3 privacy passphrase (a simulator credential)")
	return cmd
}

func writeAgentConfig(s *site.Site, path string, stdout io.Writer) error {
	if path == "-" {
		return s.WriteAgentConfig(stdout)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := s.WriteAgentConfig(f); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "agent targets written to %s\n", path)
	return nil
}
