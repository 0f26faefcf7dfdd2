package svc

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Commands returns the install, uninstall, start, stop, restart and status
// subcommands for the service described by base. install takes --config
// (passed to `run -c`) and --user; the others act on the installed service.
func Commands(base Spec, defaultConfig string) []*cobra.Command {
	var configPath, user string
	manager := func(withFlags bool) (*Manager, error) {
		spec := base
		if withFlags {
			spec.Arguments = []string{"run", "-c", configPath}
			spec.UserName = user
		}
		return New(spec)
	}
	simple := func(use, short string, act func(*Manager) error, done string) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				m, err := manager(false)
				if err != nil {
					return err
				}
				if err := act(m); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%s)\n", base.Name, done, m.Platform())
				return nil
			},
		}
	}
	install := &cobra.Command{
		Use:   "install",
		Short: "Register " + base.Name + " with the system's service manager (does not start it)",
		Long: `Register the service with the system's service manager (systemd, SysV init,
launchd or the Windows service manager) so that it starts at boot. The
service runs "` + base.Name + ` run -c CONFIG". Packages (.deb, .rpm) install their
own systemd unit instead; use this for tarball and Windows installs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := manager(true)
			if err != nil {
				return err
			}
			if err := m.Install(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s installed (%s); start it with: %s start\n", base.Name, m.Platform(), base.Name)
			return nil
		},
	}
	install.Flags().StringVarP(&configPath, "config", "c", defaultConfig, "configuration file the service runs with")
	install.Flags().StringVar(&user, "user", base.UserName, "run the service as this user (default: the service manager's default)")

	status := &cobra.Command{
		Use:   "status",
		Short: "Print whether the service is installed and running (exit 3 when stopped, 4 when not installed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := manager(false)
			if err != nil {
				return err
			}
			st, err := m.Status()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (%s)\n", base.Name, st, m.Platform())
			switch st {
			case StatusStopped:
				return &StatusError{Code: 3, Status: st}
			case StatusNotInstalled:
				return &StatusError{Code: 4, Status: st}
			default: // running (exit 0); unknown is not an error either
			}
			return nil
		},
	}
	return []*cobra.Command{
		install,
		simple("uninstall", "Remove the service from the service manager (stops it first)", (*Manager).Uninstall, "uninstalled"),
		simple("start", "Start the installed service", (*Manager).Start, "started"),
		simple("stop", "Stop the running service", (*Manager).Stop, "stopped"),
		simple("restart", "Restart the service", (*Manager).Restart, "restarted"),
		status,
	}
}

// StatusError is returned by the status command for a service that is not
// running, carrying the LSB exit code (3 stopped, 4 not installed).
type StatusError struct {
	Code   int
	Status Status
}

func (e *StatusError) Error() string { return "service is " + e.Status.String() }

// ExitCode is the process exit code for this status.
func (e *StatusError) ExitCode() int { return e.Code }
