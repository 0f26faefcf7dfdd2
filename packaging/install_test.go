// Package packaging_test installs the built .deb packages on this machine and
// checks what an operator would: files in place with the right owners and
// modes, the service user, the binaries running as that user, the shipped
// systemd unit passing systemd-analyze, and a service install/start/status/
// stop/uninstall round trip through the binaries' own subcommands (SysV init
// here: the test machine has no systemd).
//
// It changes the machine (dpkg -i, users, /etc/init.d), so it runs only with
// CI=true or OUTPOST_PACKAGE_TEST=1, as root; it purges the packages at the end.
package packaging_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/testbed"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestDebInstall(t *testing.T) {
	if !testbed.InCI() && os.Getenv("OUTPOST_PACKAGE_TEST") != "1" {
		t.Skip("SKIPPING: installs packages on this machine; set OUTPOST_PACKAGE_TEST=1 (CI sets CI=true)")
	}
	if os.Geteuid() != 0 {
		testbed.Missing(t, "the package install test needs root")
	}
	testbed.RequireTool(t, "dpkg")
	testbed.RequireTool(t, "start-stop-daemon")

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Build twice: the builds are reproducible, so the second one must be
	// byte-identical (binaries and packages).
	var sums [2]map[string]string
	for i := range sums {
		build := exec.Command(filepath.Join(root, "packaging", "build.sh"), "deb", "amd64")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build.sh deb amd64: %v\n%s", err, out)
		}
		sums[i] = checksums(t, root)
	}
	if len(sums[0]) < 4 {
		t.Fatalf("build produced %d artifacts: %v", len(sums[0]), sums[0])
	}
	for name, sum := range sums[0] {
		if sums[1][name] != sum {
			t.Errorf("%s differs between two builds of the same commit: not reproducible", name)
		}
	}
	for _, pkg := range []string{"outpost-agent", "outpost-collector"} {
		debs, _ := filepath.Glob(filepath.Join(root, "dist", pkg+"_*_amd64.deb"))
		if len(debs) == 0 {
			t.Fatalf("no %s deb in dist/", pkg)
		}
		deb := debs[len(debs)-1]
		t.Cleanup(func() { exec.Command("dpkg", "--purge", pkg).Run() })
		t.Run(pkg, func(t *testing.T) { checkPackage(t, pkg, deb) })
	}
}

func checkPackage(t *testing.T, pkg, deb string) {
	short := strings.TrimPrefix(pkg, "outpost-")
	run(t, "dpkg", "-i", deb)

	u, err := user.Lookup(pkg)
	if err != nil {
		t.Fatalf("service user %s not created: %v", pkg, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	if uid == 0 {
		t.Fatalf("service user %s is root", pkg)
	}
	if !strings.Contains(run(t, "getent", "passwd", pkg), "nologin") {
		t.Errorf("service user %s has a login shell", pkg)
	}

	files := []struct {
		path  string
		mode  os.FileMode
		owner string
		group string
		dir   bool
	}{
		{"/usr/bin/" + pkg, 0o755, "root", "root", false},
		{"/usr/lib/systemd/system/" + pkg + ".service", 0o644, "root", "root", false},
		{"/etc/outpost/" + short + ".yaml", 0o640, "root", pkg, false},
		{"/var/lib/" + pkg, 0o750, pkg, pkg, true},
		{"/usr/share/doc/" + pkg + "/examples/" + short + ".example.yaml", 0o644, "root", "root", false},
	}
	if pkg == "outpost-collector" {
		files = append(files, struct {
			path  string
			mode  os.FileMode
			owner string
			group string
			dir   bool
		}{"/usr/lib/sysctl.d/60-outpost-collector.conf", 0o644, "root", "root", false})
	}
	for _, f := range files {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		if st.IsDir() != f.dir || st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v (dir %v)", f.path, st.Mode(), f.mode, f.dir)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if o, _ := user.LookupId(fmt.Sprint(sys.Uid)); o == nil || o.Username != f.owner {
			t.Errorf("%s: owner uid %d, want %s", f.path, sys.Uid, f.owner)
		}
		if g, _ := user.LookupGroupId(fmt.Sprint(sys.Gid)); g == nil || g.Name != f.group {
			t.Errorf("%s: group gid %d, want %s", f.path, sys.Gid, f.group)
		}
	}
	// The conffile is registered as such (dpkg keeps local edits on upgrade).
	if out := run(t, "dpkg-query", "-W", "-f=${Conffiles}", pkg); !strings.Contains(out, "/etc/outpost/"+short+".yaml") {
		t.Errorf("/etc/outpost/%s.yaml is not a conffile: %q", short, out)
	}

	// The binary runs as the service user.
	out := run(t, "runuser", "-u", pkg, "--", "/usr/bin/"+pkg, "version")
	if !strings.HasPrefix(out, pkg+" 0.1.0~git") && !strings.HasPrefix(out, pkg+" ") {
		t.Errorf("version as %s: %q", pkg, out)
	}

	if p, err := exec.LookPath("systemd-analyze"); err == nil {
		cmd := exec.Command(p, "verify", "/usr/lib/systemd/system/"+pkg+".service")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		t.Logf("systemd-analyze not available; unit not verified")
	}

	serviceRoundTrip(t, pkg)
}

// serviceRoundTrip installs the service through the binary itself (SysV
// here), starts it as the service user with a configuration that works
// offline, checks status and the process owner, stops and uninstalls it.
func serviceRoundTrip(t *testing.T, pkg string) {
	bin := "/usr/bin/" + pkg
	cfg := writeServiceConfig(t, pkg)
	t.Cleanup(func() {
		exec.Command(bin, "stop").Run()
		exec.Command(bin, "uninstall").Run()
	})
	run(t, bin, "install", "--user", pkg, "-c", cfg)
	if code := exitCode(exec.Command(bin, "status")); code != 3 {
		t.Fatalf("status after install: exit %d, want 3 (stopped)", code)
	}
	// A pid file left by an earlier run on this machine must not be taken
	// for this start's.
	os.Remove("/var/run/" + pkg + ".pid")
	run(t, bin, "start")
	deadline := time.Now().Add(15 * time.Second)
	var pid string
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile("/var/run/" + pkg + ".pid"); err == nil {
			p := strings.TrimSpace(string(b))
			if _, err := os.Stat("/proc/" + p); err == nil {
				pid = p
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pid == "" {
		log, _ := os.ReadFile("/var/log/" + pkg + ".log")
		t.Fatalf("no pid file after start; log:\n%s", log)
	}
	// Give the process a moment to fail on a bad config, then check it lives.
	time.Sleep(time.Second)
	if code := exitCode(exec.Command(bin, "status")); code != 0 {
		log, _ := os.ReadFile("/var/log/" + pkg + ".log")
		t.Fatalf("status after start: exit %d, want 0; log:\n%s", code, log)
	}
	st, err := os.Stat("/proc/" + pid)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := user.LookupId(fmt.Sprint(st.Sys().(*syscall.Stat_t).Uid)); o == nil || o.Username != pkg {
		t.Errorf("service process %s does not run as %s", pid, pkg)
	}
	run(t, bin, "stop")
	if code := exitCode(exec.Command(bin, "status")); code != 3 {
		t.Errorf("status after stop: exit %d, want 3", code)
	}
	run(t, bin, "uninstall")
	if code := exitCode(exec.Command(bin, "status")); code != 4 {
		t.Errorf("status after uninstall: exit %d, want 4", code)
	}
}

// checksums returns the sha256 of the amd64 binaries and .deb packages in dist/.
func checksums(t *testing.T, root string) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "dist", "linux_amd64", "outpost-*"))
	debs, _ := filepath.Glob(filepath.Join(root, "dist", "*_amd64.deb"))
	out := map[string]string{}
	for _, f := range append(files, debs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return out
}

func exitCode(cmd *exec.Cmd) int {
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// writeServiceConfig writes a configuration the service can run with on an
// offline machine: the collector on free loopback ports with its PKI made by
// `ca init`; the agent pointed at a loopback port where nothing listens
// (it keeps retrying, which is what a running agent does during an outage),
// with certificates issued by a collector CA made for the test.
func writeServiceConfig(t *testing.T, pkg string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/lib/"+pkg, "test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pkgUser, _ := user.Lookup(pkg)
	uid, _ := strconv.Atoi(pkgUser.Uid)
	gid, _ := strconv.Atoi(pkgUser.Gid)

	collectorCfg := func(dataDir string) string {
		return fmt.Sprintf(`name: test-collector
data_dir: %s
listen:
  quic: 127.0.0.1:%d
  tcp: 127.0.0.1:%d
web:
  listen: 127.0.0.1:%d
metrics:
  listen: ""
`, dataDir, testbed.FreeUDPPort(t), testbed.FreeTCPPort(t), testbed.FreeTCPPort(t))
	}
	var cfgText string
	switch pkg {
	case "outpost-collector":
		cfgText = collectorCfg(dir)
	case "outpost-agent":
		// A throwaway collector CA to issue the agent's certificate.
		caDir := t.TempDir()
		caCfg := filepath.Join(caDir, "collector.yaml")
		if err := os.WriteFile(caCfg, []byte(collectorCfg(caDir)), 0o600); err != nil {
			t.Fatal(err)
		}
		coll, err := filepath.Abs("../dist/linux_amd64/outpost-collector")
		if err != nil {
			t.Fatal(err)
		}
		run(t, coll, "ca", "init", "-c", caCfg)
		run(t, coll, "agent", "add", "site-test", "--hosts", "*", "--out", dir, "-c", caCfg)
		cfgText = fmt.Sprintf(`name: site-test
collector:
  address: 127.0.0.1:%d
  ca: %s/ca.pem
  cert: %s/agent.pem
  key: %s/agent.key
spool:
  dir: %s/spool
`, testbed.FreeUDPPort(t), dir, dir, dir, dir)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o640); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
	if pkg == "outpost-collector" {
		run(t, "runuser", "-u", pkg, "--", "/usr/bin/"+pkg, "ca", "init", "-c", path)
	}
	return path
}
