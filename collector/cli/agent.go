package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/inventory"
	"github.com/outpost-nms/outpost/collector/pki"
	"github.com/outpost-nms/outpost/shared/enroll"
)

// Files written by `agent add --out DIR`.
const (
	agentCertFile = "agent.pem"
	agentKeyFile  = "agent.key"
	agentCAFile   = "ca.pem"
)

// newAgentCmd is `outpost-collector agent`: registering, enrolling and
// revoking agents.
func newAgentCmd() *cobra.Command {
	c := &cobra.Command{Use: "agent", Short: "Manage agents (add, revoke, list)"}
	c.AddCommand(newAgentAddCmd(), newAgentRevokeCmd(), newAgentListCmd())
	return c
}

func newAgentAddCmd() *cobra.Command {
	var flags dataDirFlags
	var hosts []string
	var out string
	var token bool
	var tokenTTL, validity time.Duration
	var collectorAddr string
	var allowOverlap bool
	cmd := &cobra.Command{
		Use:   "add NAME --hosts PATTERN,... (--out DIR | --token)",
		Short: "Register an agent and issue its certificate or a one-time enrollment token",
		Long: `add registers the agent NAME, allowed to write the hosts whose names match
one of the patterns (path.Match syntax: '*', '?', '[a-z]'; '*' allows all).
A pattern that some host name matches together with another agent's
pattern is refused (the two agents could write each other's hosts),
naming the other agent, its pattern and such a host name, unless
--allow-overlap is given.

With --out DIR it issues the agent's certificate now and writes agent.pem,
agent.key (0600) and ca.pem into DIR (0700): copy them to the agent.

With --token it prints a one-time enrollment token (stored hashed, valid for
--token-ttl) and the CA fingerprint. On the agent, 'outpost-agent enroll'
generates its own key, sends a CSR with the token to the collector's TCP
listener, pins the CA by the fingerprint, and receives its certificate: the
private key never leaves the agent.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if (out == "") == !token {
				return errors.New("give exactly one of --out DIR and --token")
			}
			if err := pki.ValidAgentName(name); err != nil {
				return err
			}
			ctx := cmd.Context()
			paths, dataDir, err := flags.pkiPaths()
			if err != nil {
				return err
			}
			ca, err := pki.Load(paths)
			if err != nil {
				return err
			}
			db, err := inventory.Open(ctx, filepath.Join(dataDir, inventory.DefaultFile))
			if err != nil {
				return err
			}
			defer db.Close()
			now := time.Now()
			if err := inventory.ValidHostPatterns(hosts); err != nil {
				return err
			}
			if !allowOverlap {
				if err := checkOverlap(ctx, db, name, hosts); err != nil {
					return err
				}
			}
			if err := db.AddAgent(ctx, name, hosts, now); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if token {
				return printToken(ctx, w, db, ca, name, now, tokenTTL, collectorAddr, flags)
			}
			iss, keyPEM, err := ca.IssueAgentKey(name, now, validity)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			if err := os.Chmod(out, 0o700); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			for _, f := range []struct {
				name string
				data []byte
				mode os.FileMode
			}{{agentKeyFile, keyPEM, 0o600}, {agentCertFile, iss.CertPEM, 0o644}, {agentCAFile, ca.CAPEM(), 0o644}} {
				if err := pki.WriteFile(filepath.Join(out, f.name), f.data, f.mode); err != nil {
					return err
				}
			}
			if err := db.SetAgentCert(ctx, name, iss.Serial, iss.NotAfter); err != nil {
				return err
			}
			fmt.Fprintf(w, "agent %s registered for hosts %s\n", name, strings.Join(hosts, ","))
			fmt.Fprintf(w, "certificate serial %s, valid until %s\n", iss.Serial, iss.NotAfter.UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "wrote %s, %s, %s in %s\n", agentCertFile, agentKeyFile, agentCAFile, out)
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().StringSliceVar(&hosts, "hosts", nil, "host name patterns the agent may write (required)")
	cmd.Flags().StringVar(&out, "out", "", "write the certificate bundle (agent.pem, agent.key, ca.pem) to this directory")
	cmd.Flags().BoolVar(&token, "token", false, "print a one-time enrollment token instead of writing a key")
	cmd.Flags().DurationVar(&tokenTTL, "token-ttl", 24*time.Hour, "how long the enrollment token is valid")
	cmd.Flags().DurationVar(&validity, "validity", pki.DefaultAgentValidity, "agent certificate validity")
	cmd.Flags().StringVar(&collectorAddr, "collector", "", "address agents use for the TCP listener, shown in the enroll command (default: this host and listen.tcp's port)")
	cmd.Flags().BoolVar(&allowOverlap, "allow-overlap", false, "register the agent even if its host patterns overlap another agent's")
	cmd.MarkFlagRequired("hosts")
	return cmd
}

// checkOverlap refuses host patterns that overlap another agent's.
func checkOverlap(ctx context.Context, db *inventory.DB, name string, hosts []string) error {
	agents, err := db.ListAgents(ctx)
	if err != nil {
		return err
	}
	overlaps, err := inventory.PatternOverlaps(agents, name, hosts)
	if err != nil {
		return err
	}
	if len(overlaps) == 0 {
		return nil
	}
	var b strings.Builder
	for _, o := range overlaps {
		fmt.Fprintf(&b, "\n  pattern %q overlaps agent %s's pattern %q (both match %q)", o.Pattern, o.Agent, o.AgentPattern, o.Example)
	}
	return fmt.Errorf("host patterns overlap another agent's: each agent could write the other's hosts%s\n(use --allow-overlap to register it anyway)", b.String())
}

func printToken(ctx context.Context, w interface{ Write([]byte) (int, error) }, db *inventory.DB, ca *pki.Authority,
	name string, now time.Time, ttl time.Duration, addr string, flags dataDirFlags) error {
	if ttl <= 0 {
		return errors.New("--token-ttl must be positive")
	}
	tok, err := enroll.NewToken()
	if err != nil {
		return err
	}
	expires := now.Add(ttl)
	if err := db.SetAgentToken(ctx, name, enroll.HashToken(tok), expires); err != nil {
		return err
	}
	if addr == "" {
		port := "4701"
		if flags.dataDir == "" {
			if c, err := config.Load(flags.config); err == nil && c.Listen.TCP != config.Off {
				if i := strings.LastIndex(c.Listen.TCP, ":"); i >= 0 {
					port = c.Listen.TCP[i+1:]
				}
			}
		}
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "COLLECTOR"
		}
		addr = host + ":" + port
	}
	fmt.Fprintf(w, "agent %s registered\n", name)
	fmt.Fprintf(w, "enrollment token (works once, until %s): %s\n", expires.UTC().Format(time.RFC3339), tok)
	fmt.Fprintf(w, "collector CA fingerprint: sha256:%s\n", ca.Fingerprint())
	fmt.Fprintf(w, "on the agent run:\n  outpost-agent enroll --collector %s --name %s --token %s --ca-fingerprint sha256:%s\n",
		addr, name, tok, ca.Fingerprint())
	return nil
}

func newAgentRevokeCmd() *cobra.Command {
	var flags dataDirFlags
	cmd := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke an agent: its certificate is refused from the next handshake on",
		Args:  cobra.ExactArgs(1),
		RunE: flags.withInventory(func(cmd *cobra.Command, args []string, db *inventory.DB) error {
			if err := db.RevokeAgent(cmd.Context(), args[0], time.Now()); err != nil {
				if errors.Is(err, inventory.ErrNotFound) {
					return fmt.Errorf("no agent %q that is not already revoked", args[0])
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "agent %s revoked\n", args[0])
			return nil
		}),
	}
	flags.add(cmd)
	return cmd
}

func newAgentListCmd() *cobra.Command {
	var flags dataDirFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List agents: name, hosts, certificate serial and expiry, revoked, last seen",
		Args:  cobra.NoArgs,
		RunE: flags.withInventory(func(cmd *cobra.Command, _ []string, db *inventory.DB) error {
			agents, err := db.ListAgents(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tHOSTS\tSERIAL\tEXPIRES\tREVOKED\tLAST SEEN")
			date := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.UTC().Format(time.RFC3339)
			}
			for _, a := range agents {
				serial := a.CertSerial
				if serial == "" {
					serial = "-"
					if a.TokenPending {
						serial = "(token pending)"
					}
				}
				seen := date(a.LastSeen)
				if a.LastAddress != "" {
					seen += " from " + a.LastAddress
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, strings.Join(a.Hosts, ","), serial, date(a.CertNotAfter), date(a.RevokedAt), seen)
			}
			return tw.Flush()
		}),
	}
	flags.add(cmd)
	return cmd
}
