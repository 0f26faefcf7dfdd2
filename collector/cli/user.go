package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/outpost-nms/outpost/collector/config"
	"github.com/outpost-nms/outpost/collector/inventory"
)

// dataDirFlags are the --config and --data-dir flags of commands that open
// the collector's data directory without running the collector.
type dataDirFlags struct {
	config  string
	dataDir string
}

func (f *dataDirFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", DefaultConfigPath, "configuration file (for its data_dir)")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "data directory (overrides the configuration file's data_dir)")
}

// dir returns the data directory: --data-dir, else the configuration's.
func (f *dataDirFlags) dir() (string, error) {
	if f.dataDir != "" {
		return f.dataDir, nil
	}
	c, err := config.Load(f.config)
	if err != nil {
		return "", err
	}
	return c.DataDir, nil
}

func (f *dataDirFlags) openInventory(ctx context.Context) (*inventory.DB, string, error) {
	dir, err := f.dir()
	if err != nil {
		return nil, "", err
	}
	db, err := inventory.Open(ctx, filepath.Join(dir, inventory.DefaultFile))
	return db, dir, err
}

// withInventory returns a command's RunE that opens the data directory's
// inventory, runs fn with it and closes it.
func (f *dataDirFlags) withInventory(fn func(cmd *cobra.Command, args []string, db *inventory.DB) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		db, _, err := f.openInventory(cmd.Context())
		if err != nil {
			return err
		}
		defer db.Close()
		return fn(cmd, args, db)
	}
}

// newUserCmd is `outpost-collector user`: accounts of the web UI and API.
func newUserCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "user",
		Short: "Manage web UI users and API tokens (add, list, passwd, disable, enable, delete, token, tokens, revoke-token)",
	}
	c.AddCommand(newUserAddCmd(), newUserListCmd(), newUserPasswdCmd(), newUserSetDisabledCmd(true), newUserSetDisabledCmd(false),
		newUserDeleteCmd(), newUserTokenCmd(), newUserTokensCmd(), newUserRevokeTokenCmd())
	return c
}

func newUserAddCmd() *cobra.Command {
	var f dataDirFlags
	var role, passwordFile string
	cmd := &cobra.Command{
		Use:   "add NAME --role admin|operator|viewer [--password-file FILE]",
		Short: "Add a user; the password is read from a prompt or --password-file",
		Long: `add creates a web UI user. The password (8 to 72 bytes) comes from
--password-file (its first line), or from standard input: a prompt without
echo on a terminal, asked twice; otherwise the first line. Only a bcrypt hash
is stored.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, passwordFile)
			if err != nil {
				return err
			}
			db, _, err := f.openInventory(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.CreateUser(cmd.Context(), args[0], pw, inventory.Role(role), time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s added (%s)\n", args[0], role)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&role, "role", "viewer", "admin (may change things), operator (acknowledges alerts, makes silences) or viewer (reads)")
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "read the password from the first line of this file")
	return cmd
}

// readPassword reads a password from the first line of file, or if file is
// "" from the command's standard input (promptPassword).
func readPassword(cmd *cobra.Command, file string) (string, error) {
	if file != "" {
		return readPasswordFile(file)
	}
	return promptPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
}

func readPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// promptPassword reads a password from in. On a terminal it turns echo off
// (with stty, where there is one) and asks twice.
func promptPassword(in io.Reader, prompt io.Writer) (string, error) {
	f, isFile := in.(*os.File)
	tty := false
	if isFile {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	if tty {
		off := exec.Command("stty", "-echo")
		off.Stdin = f
		if off.Run() == nil {
			defer func() {
				on := exec.Command("stty", "echo")
				on.Stdin = f
				_ = on.Run()
			}()
		}
	}
	r := bufio.NewReader(in)
	read := func(label string) (string, error) {
		if tty {
			fmt.Fprint(prompt, label)
		}
		line, err := r.ReadString('\n')
		if tty {
			fmt.Fprintln(prompt)
		}
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	pw, err := read("Password: ")
	if err != nil || !tty {
		return pw, err
	}
	again, err := read("Repeat password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the passwords do not match")
	}
	return pw, nil
}

func newUserListCmd() *cobra.Command {
	var f dataDirFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: f.withInventory(func(cmd *cobra.Command, _ []string, db *inventory.DB) error {
			users, err := db.Users(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tSTATE")
			for _, u := range users {
				state := "active"
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.CreatedAt.Format(time.RFC3339), state)
			}
			return tw.Flush()
		}),
	}
	f.add(cmd)
	return cmd
}

func newUserTokenCmd() *cobra.Command {
	var f dataDirFlags
	var label, expires string
	cmd := &cobra.Command{
		Use:   "token NAME [--label TEXT] [--expires WHEN]",
		Short: "Issue an API token for a user (printed once; send it as Authorization: Bearer)",
		Long: `token issues an API token for a user and prints it once (only its hash is
stored). With --expires the token stops working after a duration (90d,
720h, 1h30m) or at a time (2027-01-31, or RFC 3339 such as
2027-01-31T18:00:00Z); without it the token works until it is revoked.`,
		Args: cobra.ExactArgs(1),
		RunE: f.withInventory(func(cmd *cobra.Command, args []string, db *inventory.DB) error {
			now := time.Now()
			var exp time.Time
			if expires != "" {
				var err error
				if exp, err = parseExpiry(expires, now); err != nil {
					return fmt.Errorf("--expires: %w", err)
				}
			}
			tok, err := db.CreateExpiringAPIToken(cmd.Context(), args[0], label, now, exp)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		}),
	}
	f.add(cmd)
	cmd.Flags().StringVar(&label, "label", "cli", "what the token is for")
	cmd.Flags().StringVar(&expires, "expires", "", "when the token stops working: a duration (90d, 720h) or a time (2027-01-31, RFC 3339); default never")
	return cmd
}

// parseExpiry reads --expires: a duration from now (Go syntax, or whole
// days as "90d") or a time (a date at midnight UTC, or RFC 3339). It must
// be in the future.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	var t time.Time
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && strings.Trim(days, "0123456789") == "" {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*366 {
			return t, fmt.Errorf("%q: too many days", s)
		}
		t = now.AddDate(0, 0, n)
	} else if d, err := time.ParseDuration(s); err == nil {
		t = now.Add(d)
	} else if d, err := time.Parse("2006-01-02", s); err == nil {
		t = d
	} else if d, err := time.Parse(time.RFC3339, s); err == nil {
		t = d
	} else {
		return t, fmt.Errorf("%q: want a duration (90d, 720h) or a time (2027-01-31, 2027-01-31T18:00:00Z)", s)
	}
	if !t.After(now) {
		return t, fmt.Errorf("%q is not in the future", s)
	}
	return t, nil
}

func newUserPasswdCmd() *cobra.Command {
	var f dataDirFlags
	var passwordFile string
	cmd := &cobra.Command{
		Use:   "passwd NAME [--password-file FILE]",
		Short: "Change a user's password; ends the user's browser sessions (API tokens stay)",
		Long: `passwd sets a new password for a web UI user, read as add reads it:
--password-file (its first line), or standard input (a prompt without echo
on a terminal, asked twice). Every browser session of the user ends; the
user's API tokens keep working (see tokens and revoke-token).`,
		Args: cobra.ExactArgs(1),
		RunE: f.withInventory(func(cmd *cobra.Command, args []string, db *inventory.DB) error {
			// Check the name before asking for a password.
			if _, err := lookupUser(cmd.Context(), db, args[0]); err != nil {
				return err
			}
			pw, err := readPassword(cmd, passwordFile)
			if err != nil {
				return err
			}
			if err := db.SetPassword(cmd.Context(), args[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of user %s changed; its browser sessions were ended\n", args[0])
			return nil
		}),
	}
	f.add(cmd)
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "read the password from the first line of this file")
	return cmd
}

// lookupUser returns user name, or an error wrapping inventory.ErrNotFound.
func lookupUser(ctx context.Context, db *inventory.DB, name string) (inventory.User, error) {
	users, err := db.Users(ctx)
	if err != nil {
		return inventory.User{}, err
	}
	for _, u := range users {
		if u.Name == name {
			return u, nil
		}
	}
	return inventory.User{}, fmt.Errorf("user %s: %w", name, inventory.ErrNotFound)
}

// newUserSetDisabledCmd is `user disable` (disable true) or `user enable`.
func newUserSetDisabledCmd(disable bool) *cobra.Command {
	var f dataDirFlags
	cmd := &cobra.Command{
		Use:   "enable NAME",
		Short: "Enable a disabled user: its password and API tokens work again",
		Args:  cobra.ExactArgs(1),
	}
	done := "enabled"
	if disable {
		cmd.Use = "disable NAME"
		cmd.Short = "Disable a user: ends its browser sessions and refuses its login and API tokens (the last enabled admin cannot be disabled)"
		done = "disabled"
	}
	cmd.RunE = f.withInventory(func(cmd *cobra.Command, args []string, db *inventory.DB) error {
		if err := db.SetDisabled(cmd.Context(), args[0], disable); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "user %s %s\n", args[0], done)
		return nil
	})
	f.add(cmd)
	return cmd
}

func newUserDeleteCmd() *cobra.Command {
	var f dataDirFlags
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user with its sessions and API tokens (the last enabled admin cannot be deleted)",
		Args:  cobra.ExactArgs(1),
		RunE: f.withInventory(func(cmd *cobra.Command, args []string, db *inventory.DB) error {
			if err := db.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s deleted with its sessions and API tokens\n", args[0])
			return nil
		}),
	}
	f.add(cmd)
	return cmd
}

func newUserTokensCmd() *cobra.Command {
	var f dataDirFlags
	cmd := &cobra.Command{
		Use:   "tokens NAME",
		Short: "List a user's API tokens by ID (the tokens themselves are not stored)",
		Args:  cobra.ExactArgs(1),
		RunE: f.withInventory(func(cmd *cobra.Command, args []string, db *inventory.DB) error {
			toks, err := db.APITokens(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tLABEL\tCREATED\tLAST USED\tEXPIRES")
			now := time.Now()
			for _, t := range toks {
				used, exp := "never", "never"
				if !t.LastUsed.IsZero() {
					used = t.LastUsed.Format(time.RFC3339)
				}
				if !t.ExpiresAt.IsZero() {
					exp = t.ExpiresAt.Format(time.RFC3339)
					if t.Expired(now) {
						exp += " (expired)"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Label, t.CreatedAt.Format(time.RFC3339), used, exp)
			}
			return tw.Flush()
		}),
	}
	f.add(cmd)
	return cmd
}

func newUserRevokeTokenCmd() *cobra.Command {
	var f dataDirFlags
	cmd := &cobra.Command{
		Use:   "revoke-token NAME ID",
		Short: "Revoke one of a user's API tokens by its ID from tokens (at least 8 hex digits)",
		Args:  cobra.ExactArgs(2),
		RunE: f.withInventory(func(cmd *cobra.Command, args []string, db *inventory.DB) error {
			if err := db.RevokeAPIToken(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "API token %s of user %s revoked\n", strings.ToLower(args[1]), args[0])
			return nil
		}),
	}
	f.add(cmd)
	return cmd
}
