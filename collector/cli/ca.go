package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/pki"
)

// pkiPaths returns the PKI files: under --data-dir/pki, else the
// configuration's tls section (which defaults to data_dir/pki).
func (f *dataDirFlags) pkiPaths() (pki.Paths, string, error) {
	if f.dataDir != "" {
		return pki.DefaultPaths(filepath.Join(f.dataDir, "pki")), f.dataDir, nil
	}
	c, err := config.Load(f.config)
	if err != nil {
		return pki.Paths{}, "", err
	}
	return pki.Paths{CACert: c.TLS.CACert, CAKey: c.TLS.CAKey, Cert: c.TLS.Cert, Key: c.TLS.Key}, c.DataDir, nil
}

// newCACmd is `outpost-collector ca`: the collector's certificate authority.
func newCACmd() *cobra.Command {
	c := &cobra.Command{Use: "ca", Short: "Manage the collector's certificate authority (init)"}
	var flags dataDirFlags
	var dns []string
	var ips []string
	var name string
	var force bool
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create the collector CA and the collector's server certificate",
		Long: `init creates an ECDSA P-256 certificate authority (valid 20 years) and a
server certificate for the agent listeners, signed by it, under data_dir/pki
(keys 0600, directory 0700). Agents trust this CA; agent certificates are
issued by 'outpost-collector agent add'.

The server certificate's names default to localhost, 127.0.0.1 and this
machine's host name; give the names agents dial with --dns and --ip.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			paths, _, err := flags.pkiPaths()
			if err != nil {
				return err
			}
			opts := pki.InitOptions{Name: name, Force: force}
			if len(dns) == 0 && len(ips) == 0 {
				dns = []string{"localhost"}
				if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
					dns = append(dns, h)
				}
				ips = []string{"127.0.0.1", "::1"}
			}
			opts.DNS = dns
			for _, s := range ips {
				ip := net.ParseIP(strings.TrimSpace(s))
				if ip == nil {
					return fmt.Errorf("--ip %q is not an IP address", s)
				}
				opts.IPs = append(opts.IPs, ip)
			}
			if err := pki.Init(paths, opts); err != nil {
				return err
			}
			ca, err := pki.Load(paths)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "CA certificate:     %s\n", paths.CACert)
			fmt.Fprintf(out, "CA key:             %s (keep it private)\n", paths.CAKey)
			fmt.Fprintf(out, "server certificate: %s (names: %s %s)\n", paths.Cert, strings.Join(opts.DNS, " "), strings.Join(ips, " "))
			fmt.Fprintf(out, "CA fingerprint:     sha256:%s\n", ca.Fingerprint())
			return nil
		},
	}
	flags.add(initCmd)
	initCmd.Flags().StringSliceVar(&dns, "dns", nil, "DNS names of the server certificate (repeat or comma-separate)")
	initCmd.Flags().StringSliceVar(&ips, "ip", nil, "IP addresses of the server certificate (repeat or comma-separate)")
	initCmd.Flags().StringVar(&name, "name", "collector", "collector name in the certificates")
	initCmd.Flags().BoolVar(&force, "force", false, "replace an existing CA (every agent must then be re-issued)")
	c.AddCommand(initCmd)
	return c
}
