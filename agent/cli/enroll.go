package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/enroll"
	"github.com/outpost-nms/outpost/shared/secret"
)

// newEnrollCmd is `outpost-agent enroll`: exchange a one-time token for
// the agent's certificate bundle.
func newEnrollCmd() *cobra.Command {
	var (
		o         enroll.Options
		token     string
		tokenFile string
		cfgPath   string
		pkiDir    string
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "enroll --collector HOST:PORT --name NAME --token TOKEN --ca-fingerprint sha256:HEX",
		Short: "Exchange a one-time enrollment token for this agent's certificate",
		Long: `enroll asks the collector for this agent's certificate, using the one-time
token that 'outpost-collector agent add NAME --token' printed.

The key is generated here and never leaves this machine: the agent sends a
certificate request and the token to the collector's TCP listener over TLS,
trusting the collector only if its CA has the fingerprint given with
--ca-fingerprint. The key, the certificate and the collector CA are written
where the configuration (-c) expects them, or under --pki-dir
(agent.key, agent.pem, ca.pem; default ` + config.DefaultPKIDir + `).

The token may also come from --token-file or the OUTPOST_ENROLL_TOKEN
environment variable, which keeps it out of the process list.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := readToken(token, tokenFile)
			if err != nil {
				return err
			}
			o.Token = tok
			o.CertPath = filepath.Join(pkiDir, "agent.pem")
			o.KeyPath = filepath.Join(pkiDir, "agent.key")
			o.CAPath = filepath.Join(pkiDir, "ca.pem")
			if cfgPath != "" {
				c, err := config.Load(cfgPath)
				if err != nil {
					return &ExitError{Code: ExitConfigInvalid, Err: err}
				}
				o.CertPath, o.KeyPath, o.CAPath = c.Collector.Cert, c.Collector.Key, c.Collector.CA
				if o.Name == "" {
					o.Name = c.Name
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := enroll.Run(ctx, o)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "agent %s enrolled: certificate serial %s, valid until %s\n", o.Name, res.Serial, res.NotAfter)
			if len(res.Hosts) > 0 {
				fmt.Fprintf(w, "hosts this agent may report: %s\n", strings.Join(res.Hosts, ", "))
			}
			fmt.Fprintf(w, "wrote %s, %s, %s\n", o.KeyPath, o.CertPath, o.CAPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Collector, "collector", "", "the collector's TCP listener, host:port")
	f.StringVar(&o.Name, "name", "", "this agent's name, as registered on the collector (default: name in -c)")
	f.StringVar(&token, "token", "", "the one-time enrollment token")
	f.StringVar(&tokenFile, "token-file", "", "read the token from this file")
	f.StringVar(&o.Fingerprint, "ca-fingerprint", "", "SHA-256 fingerprint of the collector CA, as printed with the token")
	f.StringVarP(&cfgPath, "config", "c", "", "agent configuration naming the certificate paths (optional)")
	f.StringVar(&pkiDir, "pki-dir", config.DefaultPKIDir, "directory for agent.key, agent.pem, ca.pem when -c is not given")
	f.BoolVar(&o.Force, "force", false, "replace an existing certificate and key")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

// readToken takes the token from the flag, a file, or the environment.
func readToken(flag, file string) (secret.Secret, error) {
	switch {
	case flag != "":
		return secret.New(strings.TrimSpace(flag)), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return secret.Secret{}, fmt.Errorf("--token-file: %w", err)
		}
		return secret.New(strings.TrimSpace(string(b))), nil
	case os.Getenv("OUTPOST_ENROLL_TOKEN") != "":
		return secret.New(strings.TrimSpace(os.Getenv("OUTPOST_ENROLL_TOKEN"))), nil
	}
	return secret.Secret{}, errors.New("no token: give --token, --token-file or OUTPOST_ENROLL_TOKEN")
}
