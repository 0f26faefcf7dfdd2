// Package pki is the collector's own certificate authority: it creates the
// CA and the collector's server certificate (`outpost-collector ca init`),
// issues agent certificates (CN = agent name, client-auth only), signs the
// CSRs agents send when they enroll with a one-time token, and builds the
// TLS configurations of the agent-facing listeners.
//
// Files under the PKI directory (default DATA_DIR/pki, mode 0700):
//
//	ca.pem      CA certificate (ECDSA P-256, 20 years)
//	ca.key      CA private key (PKCS#8 PEM, 0600)
//	server.pem  collector certificate + CA certificate (chain)
//	server.key  collector private key (0600)
//
// Keys are always written 0600 and directories 0700. Whether an issued
// agent certificate is still valid (revocation, re-issue) is not the CA's
// business: the ingest listeners check the inventory on every handshake.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/outpost-nms/outpost/shared/atomicfile"
)

// File names inside the PKI directory.
const (
	CACertFile     = "ca.pem"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server.key"
)

// Validity periods.
const (
	CAValidity     = 20 * 365 * 24 * time.Hour
	ServerValidity = 5 * 365 * 24 * time.Hour
	// DefaultAgentValidity is how long an agent certificate is valid unless told otherwise.
	DefaultAgentValidity = 2 * 365 * 24 * time.Hour
)

// ErrExists is returned by Init when a CA is already present.
var ErrExists = errors.New("a CA already exists")

// Paths names the four PKI files.
type Paths struct {
	CACert, CAKey, Cert, Key string
}

// DefaultPaths returns the standard file names under dir.
func DefaultPaths(dir string) Paths {
	return Paths{
		CACert: filepath.Join(dir, CACertFile),
		CAKey:  filepath.Join(dir, CAKeyFile),
		Cert:   filepath.Join(dir, ServerCertFile),
		Key:    filepath.Join(dir, ServerKeyFile),
	}
}

// InitOptions describes the CA and server certificate ca init creates.
type InitOptions struct {
	Name  string   // CA common name suffix, e.g. the collector name; default "collector"
	DNS   []string // server certificate DNS SANs
	IPs   []net.IP // server certificate IP SANs
	Now   time.Time
	Force bool // overwrite an existing CA (every agent must be re-issued)
}

// Init creates a CA and a server certificate in the files of p.
func Init(p Paths, opts InitOptions) error {
	if !opts.Force {
		if _, err := os.Stat(p.CACert); err == nil {
			return fmt.Errorf("%w at %s (use --force to replace it and re-issue every agent)", ErrExists, p.CACert)
		}
	}
	if opts.Name == "" {
		opts.Name = "collector"
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ca key: %w", err)
	}
	serial, err := NewSerial()
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Outpost CA " + opts.Name, Organization: []string{"Outpost"}},
		NotBefore:             opts.Now.Add(-time.Hour),
		NotAfter:              opts.Now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("ca certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("ca certificate: %w", err)
	}
	ca := &Authority{Cert: caCert, key: caKey}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	srvDER, err := ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: opts.Name, Organization: []string{"Outpost collector"}},
		NotBefore:   opts.Now.Add(-time.Hour),
		NotAfter:    opts.Now.Add(ServerValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    opts.DNS,
		IPAddresses: opts.IPs,
	}, &srvKey.PublicKey)
	if err != nil {
		return err
	}
	for _, d := range []string{filepath.Dir(p.CACert), filepath.Dir(p.CAKey), filepath.Dir(p.Cert), filepath.Dir(p.Key)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pki dir: %w", err)
		}
	}
	caKeyPEM, err := KeyPEM(caKey)
	if err != nil {
		return err
	}
	srvKeyPEM, err := KeyPEM(srvKey)
	if err != nil {
		return err
	}
	if err := WriteFile(p.CAKey, caKeyPEM, 0o600); err != nil {
		return err
	}
	if err := WriteFile(p.CACert, CertPEM(caDER), 0o644); err != nil {
		return err
	}
	if err := WriteFile(p.Key, srvKeyPEM, 0o600); err != nil {
		return err
	}
	return WriteFile(p.Cert, append(CertPEM(srvDER), CertPEM(caDER)...), 0o644)
}

// Authority is a loaded CA, able to issue agent certificates.
type Authority struct {
	Cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	server tls.Certificate
}

// Load reads the CA and the server certificate.
func Load(p Paths) (*Authority, error) {
	caPEM, err := os.ReadFile(p.CACert)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w (run `outpost-collector ca init`)", err)
	}
	caCert, err := ParseCertPEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA %s: %w", p.CACert, err)
	}
	keyPEM, err := os.ReadFile(p.CAKey)
	if err != nil {
		return nil, fmt.Errorf("load CA key: %w", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, fmt.Errorf("load CA key %s: no PEM block", p.CAKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load CA key %s: %w", p.CAKey, err)
	}
	ecKey, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("load CA key %s: not an ECDSA key", p.CAKey)
	}
	if !ecKey.PublicKey.Equal(caCert.PublicKey) {
		return nil, fmt.Errorf("load CA: %s does not match %s", p.CAKey, p.CACert)
	}
	srv, err := tls.LoadX509KeyPair(p.Cert, p.Key)
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	return &Authority{Cert: caCert, key: ecKey, server: srv}, nil
}

// Fingerprint is the SHA-256 of the CA certificate (DER), as lower-case hex:
// what an enrolling agent pins.
func (a *Authority) Fingerprint() string { return Fingerprint(a.Cert.Raw) }

// Fingerprint returns the lower-case hex SHA-256 of a DER certificate.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// DeriveKey returns 32 bytes derived from the CA private key for purpose:
// stable across restarts without another secret file (the QUIC stateless
// reset key, so agents notice a restarted collector at once).
func (a *Authority) DeriveKey(purpose string) [32]byte {
	h := sha256.New()
	h.Write([]byte("outpost derived key\x00" + purpose + "\x00"))
	b, err := a.key.Bytes()
	if err != nil {
		b, _ = x509.MarshalPKCS8PrivateKey(a.key) // not reached for a P-256 key
	}
	h.Write(b)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// CAPEM returns the CA certificate as PEM.
func (a *Authority) CAPEM() []byte { return CertPEM(a.Cert.Raw) }

// Pool returns a pool holding only the CA.
func (a *Authority) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.Cert)
	return p
}

// ServerCertificate returns the collector's certificate chain and key.
func (a *Authority) ServerCertificate() tls.Certificate { return a.server }

// Issued describes an issued agent certificate.
type Issued struct {
	CertPEM  []byte
	Serial   string // lower-case hex
	NotAfter time.Time
}

// IssueAgent signs a certificate for an agent's public key: CN = name,
// extended key usage client auth only.
func (a *Authority) IssueAgent(name string, pub any, now time.Time, validity time.Duration) (Issued, error) {
	if err := ValidAgentName(name); err != nil {
		return Issued{}, err
	}
	if validity <= 0 {
		validity = DefaultAgentValidity
	}
	notAfter := now.Add(validity)
	if notAfter.After(a.Cert.NotAfter) {
		notAfter = a.Cert.NotAfter
	}
	der, err := a.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: []string{"Outpost agent"}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, pub)
	if err != nil {
		return Issued{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Issued{}, fmt.Errorf("issue %s: %w", name, err)
	}
	return Issued{CertPEM: CertPEM(der), Serial: SerialHex(cert.SerialNumber), NotAfter: cert.NotAfter}, nil
}

// IssueAgentKey generates a key for the agent and issues its certificate;
// keyPEM is the PKCS#8 private key.
func (a *Authority) IssueAgentKey(name string, now time.Time, validity time.Duration) (Issued, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, nil, fmt.Errorf("agent key: %w", err)
	}
	iss, err := a.IssueAgent(name, &k.PublicKey, now, validity)
	if err != nil {
		return Issued{}, nil, err
	}
	keyPEM, err := KeyPEM(k)
	if err != nil {
		return Issued{}, nil, err
	}
	return iss, keyPEM, nil
}

// SignCSR checks a PKCS#10 request (signature; a subject CN, if any, must
// be name) and issues a certificate for its key with CN = name.
func (a *Authority) SignCSR(name string, csrDER []byte, now time.Time, validity time.Duration) (Issued, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return Issued{}, fmt.Errorf("csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return Issued{}, fmt.Errorf("csr: %w", err)
	}
	if cn := csr.Subject.CommonName; cn != "" && cn != name {
		return Issued{}, fmt.Errorf("csr: common name %q is not the agent name %q", cn, name)
	}
	switch csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
	default:
		return Issued{}, fmt.Errorf("csr: key type %T not accepted (use ECDSA)", csr.PublicKey)
	}
	return a.IssueAgent(name, csr.PublicKey, now, validity)
}

func (a *Authority) sign(tmpl *x509.Certificate, pub any) ([]byte, error) {
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", tmpl.Subject.CommonName, err)
	}
	return der, nil
}

// NewSerial returns a random positive 128-bit serial number.
func NewSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}

// SerialHex formats a serial number as the inventory stores it.
func SerialHex(s *big.Int) string { return strings.ToLower(s.Text(16)) }

// ValidAgentName accepts 1 to 64 characters of letters, digits, '.', '_'
// and '-', starting with a letter or digit.
func ValidAgentName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("agent name %q: must be 1 to 64 characters", name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("agent name %q: only letters, digits, '.', '_' and '-' (not first) are allowed", name)
		}
	}
	return nil
}

// CertPEM encodes a DER certificate.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// KeyPEM encodes a private key as PKCS#8 PEM.
func KeyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseCertPEM parses the first certificate in PEM data.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no CERTIFICATE PEM block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// WriteFile writes data atomically and durably with mode (see shared/atomicfile).
func WriteFile(path string, data []byte, mode os.FileMode) error {
	return atomicfile.Write(path, data, mode)
}
