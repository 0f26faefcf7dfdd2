package cli

import "github.com/spf13/cobra"

// newProbeCmd groups the one-shot checks users run before deploying.
func newProbeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Query one device or server once and print what the agent would see",
	}
	for _, c := range []*cobra.Command{
		// probe subcommands register here, one line each
		newProbeSNMPCmd(),
		newProbeNTPCmd(),
		newProbeTrapsCmd(),
	} {
		cmd.AddCommand(c)
	}
	return cmd
}
