package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/enroll"
)

func initCA(t *testing.T) (Paths, *Authority) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	p := DefaultPaths(dir)
	if err := Init(p, InitOptions{Name: "c1", DNS: []string{"localhost", "collector.example"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}); err != nil {
		t.Fatal(err)
	}
	a, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, a
}

func TestInitWritesPrivateFilesAndRefusesOverwrite(t *testing.T) {
	p, a := initCA(t)
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{{p.CAKey, 0o600}, {p.Key, 0o600}, {p.CACert, 0o644}, {p.Cert, 0o644}, {filepath.Dir(p.CAKey), 0o700 | os.ModeDir}} {
		st, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != tc.mode {
			t.Errorf("%s: mode %v, want %v", tc.path, st.Mode(), tc.mode)
		}
	}
	if !a.Cert.IsCA || a.Cert.PublicKeyAlgorithm != x509.ECDSA || a.Cert.NotAfter.Before(time.Now().Add(19*365*24*time.Hour)) {
		t.Fatalf("CA: IsCA %v alg %v until %v", a.Cert.IsCA, a.Cert.PublicKeyAlgorithm, a.Cert.NotAfter)
	}
	srv := a.ServerCertificate()
	leaf, err := x509.ParseCertificate(srv.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "collector.example", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: a.Pool(), DNSName: name}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if len(srv.Certificate) != 2 {
		t.Errorf("server chain has %d certificates, want leaf + CA (enrollment pins the CA from it)", len(srv.Certificate))
	}
	if err := Init(p, InitOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second init: %v", err)
	}
}

func TestIssueAgentCertificate(t *testing.T) {
	_, a := initCA(t)
	now := time.Now()
	iss, keyPEM, err := a.IssueAgentKey("edge-1", now, 0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertPEM(iss.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "edge-1" {
		t.Errorf("CN %q", cert.Subject.CommonName)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("EKU %v, want client auth only", cert.ExtKeyUsage)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: a.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("verify for client auth: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: a.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("an agent certificate verifies for server auth")
	}
	if iss.Serial != SerialHex(cert.SerialNumber) || iss.Serial == "" {
		t.Errorf("serial %q vs %q", iss.Serial, SerialHex(cert.SerialNumber))
	}
	if d := cert.NotAfter.Sub(now); d < DefaultAgentValidity-2*time.Hour || d > DefaultAgentValidity+time.Hour {
		t.Errorf("validity %v", d)
	}
	if _, err := tls.X509KeyPair(iss.CertPEM, keyPEM); err != nil {
		t.Errorf("key does not match: %v", err)
	}
	if _, _, err := a.IssueAgentKey("bad name", now, 0); err == nil {
		t.Error("issued for an invalid name")
	}
}

func TestSignCSR(t *testing.T) {
	_, a := initCA(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := func(cn string) []byte {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	iss, err := a.SignCSR("edge", csr("edge"), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := ParseCertPEM(iss.CertPEM)
	if !k.PublicKey.Equal(cert.PublicKey) || cert.Subject.CommonName != "edge" {
		t.Fatal("certificate is not for the CSR's key and the agent name")
	}
	if _, err := a.SignCSR("edge", csr("other"), time.Now(), time.Hour); err == nil {
		t.Error("signed a CSR for another name")
	}
	bad := csr("edge")
	bad[len(bad)-5] ^= 0xff
	if _, err := a.SignCSR("edge", bad, time.Now(), time.Hour); err == nil {
		t.Error("signed a CSR with a broken signature")
	}
}

// memStore is a token store for the enrollment exchange test; the real
// one (inventory.DB) is tested in collector/inventory and end to end in
// collector/ingest.
type memStore struct {
	mu      sync.Mutex
	hash    string
	expires time.Time
	serial  string
}

func (m *memStore) CompleteEnrollment(_ context.Context, name, token, serial string, _, now time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name != "edge" || !enroll.TokenMatches(token, m.hash) || !now.Before(m.expires) {
		return nil, enroll.ErrRefused
	}
	m.hash, m.serial = "", serial
	return []string{"r*"}, nil
}

func TestEnrollExchange(t *testing.T) {
	_, a := initCA(t)
	tok, err := enroll.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	store := &memStore{hash: enroll.HashToken(tok), expires: time.Now().Add(time.Hour)}
	e := &Enroller{CA: a, Store: store}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{a.ServerCertificate()}, NextProtos: []string{enroll.ALPN}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); e.Serve(context.Background(), c.(*tls.Conn), c.RemoteAddr().String()) }()
		}
	}()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "edge"}}, k)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A wrong pin is refused before anything is sent.
	if _, err := enroll.Enroll(ctx, ln.Addr().String(), strings.Repeat("ab", 32), enroll.Request{Agent: "edge", Token: tok, CSR: csr}); err == nil ||
		!strings.Contains(err.Error(), "pinned fingerprint") {
		t.Fatalf("wrong pin: %v", err)
	}
	resp, err := enroll.Enroll(ctx, ln.Addr().String(), "SHA256:"+strings.ToUpper(a.Fingerprint()), enroll.Request{Agent: "edge", Token: tok, CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertPEM(resp.Cert)
	if err != nil || cert.Subject.CommonName != "edge" || SerialHex(cert.SerialNumber) != store.serial {
		t.Fatalf("enrolled certificate %v, %v", cert, err)
	}
	if strings.Join(resp.Hosts, ",") != "r*" || string(resp.CA) != string(a.CAPEM()) {
		t.Fatalf("response hosts %v", resp.Hosts)
	}
	// The token works once; the refusal does not reveal it.
	_, err = enroll.Enroll(ctx, ln.Addr().String(), a.Fingerprint(), enroll.Request{Agent: "edge", Token: tok, CSR: csr})
	if err == nil || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), tok) {
		t.Fatalf("second use: %v", err)
	}
}

func TestDeriveKeyStable(t *testing.T) {
	p, a := initCA(t)
	b, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if a.DeriveKey("x") != b.DeriveKey("x") || a.DeriveKey("x") == a.DeriveKey("y") {
		t.Fatal("derived keys must be stable per purpose and differ between purposes")
	}
	_, c := initCA(t)
	if a.DeriveKey("x") == c.DeriveKey("x") {
		t.Fatal("another CA derives the same key")
	}
}
