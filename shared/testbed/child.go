package testbed

import (
	"os"
	"os/exec"
	"testing"
)

// crashChildEnv carries a crash child's argument.
const crashChildEnv = "OUTPOST_CRASH_CHILD"

// CrashChild returns a command that runs the current test binary again,
// limited to the test named test, as a child process the test can kill
// (SIGKILL mid-write, the crash tests of the durable files). The child
// finds arg with CrashChildArg. env adds variables. The caller starts it;
// it is killed and reaped when the test ends if it still runs.
func CrashChild(t testing.TB, test, arg string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), crashChildEnv+"="+arg), env...)
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// CrashChildEnv is the environment entry that makes a process started
// another way (under prlimit, say) a crash child with arg.
func CrashChildEnv(arg string) string { return crashChildEnv + "=" + arg }

// CrashChildArg returns the argument CrashChild gave this process, and
// whether it is such a child.
func CrashChildArg() (string, bool) {
	arg := os.Getenv(crashChildEnv)
	return arg, arg != ""
}
