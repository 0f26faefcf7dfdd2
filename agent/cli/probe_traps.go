package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/agent/config"
	"github.com/outpost-nms/outpost/agent/trap"
	"github.com/outpost-nms/outpost/shared/secret"
	"github.com/outpost-nms/outpost/shared/snmpname"
	"github.com/outpost-nms/outpost/shared/wire"
)

// newProbeTrapsCmd is `outpost-agent probe traps`: receive traps and print
// each as it arrives, decoded, to check a device's trap configuration.
func newProbeTrapsCmd() *cobra.Command {
	var (
		listen, user, level, authProto, authPass, privProto, privPass, engineID string
		communities                                                             []string
		count                                                                   int
		asJSON                                                                  bool
	)
	cmd := &cobra.Command{
		Use:   "traps [flags]",
		Short: "Receive SNMP traps and informs and print each, decoded",
		Long: `Listen for SNMP traps and informs as the agent's trap receiver does (same
decoder, same credential checks) and print each one as it arrives: time,
sender, version, the notification's name and OID, and every varbind with its
name where Outpost knows it. Informs are answered. Refused messages (wrong
community, unknown v3 user or wrong key, malformed) are reported on stderr.
Stop with Ctrl-C, or after --count traps. Port 162 needs root or
CAP_NET_BIND_SERVICE; any port works for a test.`,
		Example: `  outpost-agent probe traps --listen :1162 -c public
  outpost-agent probe traps --listen 0.0.0.0:162 -u trapuser -l authPriv -a SHA-256 -A 'auth pass' -x AES -X 'priv pass'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var users []config.SNMPv3
			if user != "" {
				if level == "" {
					switch {
					case privPass != "":
						level = "authPriv"
					case authPass != "":
						level = "authNoPriv"
					default:
						level = "noAuthNoPriv"
					}
				}
				users = append(users, config.SNMPv3{User: user, Level: level, AuthProtocol: authProto, AuthPassphrase: secret.New(authPass),
					PrivProtocol: privProto, PrivPassphrase: secret.New(privPass)})
			}
			if len(communities) == 0 && len(users) == 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("give a community (-c) or a v3 user (-u): nothing would be accepted")}
			}
			c := &config.Config{Name: "probe", Traps: &config.Traps{EngineID: engineID}}
			out := &trapPrinter{w: cmd.OutOrStdout(), json: asJSON, names: snmpname.New(), left: count, done: make(chan struct{})}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			l, err := trap.Listen(listen, trap.Options{Communities: communities, Users: users, EngineID: c.EffectiveEngineID(),
				Sink: out, Logger: log})
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "listening on %s (udp); Ctrl-C to stop\n", l.Addr())
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			go func() {
				select {
				case <-out.done:
					stop()
				case <-ctx.Done():
				}
			}()
			return l.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", ":162", "UDP address to receive on")
	f.StringArrayVarP(&communities, "community", "c", nil, "accepted community (v1/v2c); repeat for several")
	f.StringVarP(&user, "user", "u", "", "accepted v3 user name")
	f.StringVarP(&level, "level", "l", "", "v3 security level: noAuthNoPriv, authNoPriv, authPriv (default: from the passphrases given)")
	f.StringVarP(&authProto, "auth-protocol", "a", "", "v3 authentication protocol: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512")
	f.StringVarP(&authPass, "auth-passphrase", "A", "", "v3 authentication passphrase")
	f.StringVarP(&privProto, "priv-protocol", "x", "", "v3 privacy protocol: DES, AES, AES-192, AES-256, AES-192-C, AES-256-C")
	f.StringVarP(&privPass, "priv-passphrase", "X", "", "v3 privacy passphrase")
	f.StringVar(&engineID, "engine-id", "", "this receiver's engine ID in hex, for v3 informs (default: derived, as the agent's)")
	f.IntVar(&count, "count", 0, "exit after this many traps (0: run until Ctrl-C)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per trap")
	return cmd
}

// trapPrinter is the probe's trap.Sink: it prints instead of spooling.
type trapPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	json  bool
	names *snmpname.Table
	left  int // 0: no limit
	done  chan struct{}
}

func (p *trapPrinter) ReportTraps(ts []wire.Trap) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range ts {
		if p.left < 0 {
			return nil
		}
		if err := p.print(&ts[i]); err != nil {
			return err
		}
		if p.left > 0 {
			p.left--
			if p.left == 0 {
				p.left = -1
				close(p.done)
			}
		}
	}
	return nil
}

func (p *trapPrinter) print(t *wire.Trap) error {
	name, _ := p.names.Name(t.OID)
	if p.json {
		type vb struct {
			OID   string `json:"oid"`
			Name  string `json:"name,omitempty"`
			Type  string `json:"type"`
			Value string `json:"value"`
		}
		out := struct {
			Time     string `json:"time"`
			From     string `json:"from"`
			Source   string `json:"source"`
			Version  string `json:"version"`
			Inform   bool   `json:"inform"`
			OID      string `json:"oid"`
			Name     string `json:"name,omitempty"`
			Uptime   uint32 `json:"uptime"`
			User     string `json:"user,omitempty"`
			VarBinds []vb   `json:"varbinds"`
		}{Time: time.UnixMilli(t.Time).UTC().Format(time.RFC3339Nano), From: t.From, Source: t.Source, Version: versionName(t.Version),
			Inform: t.Inform, OID: t.OID, Name: name, Uptime: t.Uptime, User: t.User, VarBinds: []vb{}}
		for _, v := range t.VarBinds {
			n, _ := p.names.Name(v.OID)
			out.VarBinds = append(out.VarBinds, vb{OID: v.OID, Name: n, Type: wire.VarBindTypeName(v.Type), Value: v.Value})
		}
		return json.NewEncoder(p.w).Encode(out)
	}
	var sb strings.Builder
	kind := "trap"
	if t.Inform {
		kind = "inform (answered)"
	}
	if name == "" {
		name = t.OID
	} else {
		name += " (" + t.OID + ")"
	}
	fmt.Fprintf(&sb, "%s from %s: %s %s %s, uptime %s", time.UnixMilli(t.Time).UTC().Format("2006-01-02 15:04:05.000"), t.From,
		versionName(t.Version), kind, name, time.Duration(t.Uptime)*10*time.Millisecond)
	if t.SourceFrom != wire.SourceUDP {
		fmt.Fprintf(&sb, ", source %s (%s)", t.Source, t.SourceFrom)
	}
	if t.User != "" {
		fmt.Fprintf(&sb, ", user %s", t.User)
	}
	sb.WriteByte('\n')
	for _, v := range t.VarBinds {
		n, ok := p.names.Name(v.OID)
		if !ok {
			n = v.OID
		}
		fmt.Fprintf(&sb, "  %s = %s: %s\n", n, wire.VarBindTypeName(v.Type), v.Value)
	}
	if t.Truncated > 0 {
		fmt.Fprintf(&sb, "  (%d more varbinds not kept)\n", t.Truncated)
	}
	_, err := io.WriteString(p.w, sb.String())
	return err
}

func versionName(v uint8) string {
	switch v {
	case 1:
		return "v1"
	case 2:
		return "v2c"
	}
	return "v3"
}
