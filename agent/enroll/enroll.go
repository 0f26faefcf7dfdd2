// Package enroll is the agent side of enrollment: it turns a one-time token
// printed by `outpost-collector agent add NAME --token` into the agent's
// certificate bundle.
//
// The agent generates its ECDSA P-256 key locally (the key never leaves the
// machine), sends a PKCS#10 request with the token to the collector's TCP
// listener (TLS 1.3, ALPN "outpost-enroll/1"; the collector is trusted by
// the SHA-256 fingerprint of its CA, printed with the token, since the agent
// has no CA yet), and writes the key, the returned certificate and the CA
// to the paths of its configuration. The protocol is shared/enroll.
package enroll

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/outpost-nms/outpost/shared/atomicfile"
	"github.com/outpost-nms/outpost/shared/enroll"
	"github.com/outpost-nms/outpost/shared/secret"
)

// Options name the collector, the token and where the bundle goes.
type Options struct {
	Collector   string        // host:port of the collector's TCP listener
	Name        string        // the agent's name (certificate common name)
	Token       secret.Secret // the one-time token
	Fingerprint string        // SHA-256 of the collector CA ("sha256:…", hex, colons allowed)
	CertPath    string        // where to write the agent certificate (PEM)
	KeyPath     string        // where to write the agent key (PEM, mode 0600)
	CAPath      string        // where to write the collector CA (PEM)
	// Force overwrites an existing certificate or key.
	Force bool
}

// Result is what the collector granted.
type Result struct {
	Serial   string   // the certificate's serial number (hex)
	NotAfter string   // expiry, RFC 3339
	Hosts    []string // host patterns the agent may write
}

// ErrExists is returned when the certificate or key exists and Force is off.
var ErrExists = errors.New("a certificate or key is already there")

// Run enrolls the agent and writes the bundle.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Collector == "" || o.Name == "" || o.Token.IsZero() || o.Fingerprint == "" {
		return Result{}, errors.New("enroll: collector address, agent name, token and CA fingerprint are required")
	}
	if !o.Force {
		for _, p := range []string{o.CertPath, o.KeyPath} {
			if _, err := os.Stat(p); err == nil {
				return Result{}, fmt.Errorf("enroll: %s: %w (use --force to replace it)", p, ErrExists)
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Result{}, fmt.Errorf("enroll: generate key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: o.Name}}, key)
	if err != nil {
		return Result{}, fmt.Errorf("enroll: certificate request: %w", err)
	}
	resp, err := enroll.Enroll(ctx, o.Collector, o.Fingerprint, enroll.Request{Agent: o.Name, Token: o.Token.Reveal(), CSR: csr})
	if err != nil {
		return Result{}, err
	}
	cert, err := check(resp, key, o)
	if err != nil {
		return Result{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Result{}, fmt.Errorf("enroll: encode key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{o.KeyPath, keyPEM, 0o600}, {o.CertPath, resp.Cert, 0o644}, {o.CAPath, resp.CA, 0o644}} {
		if err := writeFile(f.path, f.data, f.mode); err != nil {
			return Result{}, err
		}
	}
	return Result{Serial: fmt.Sprintf("%x", cert.SerialNumber), NotAfter: cert.NotAfter.UTC().Format("2006-01-02T15:04:05Z"), Hosts: resp.Hosts}, nil
}

// check verifies that the returned certificate is for our key and name and
// chains to the returned CA, and that the CA is the pinned one.
func check(resp enroll.Response, key *ecdsa.PrivateKey, o Options) (*x509.Certificate, error) {
	caBlock, _ := pem.Decode(resp.CA)
	certBlock, _ := pem.Decode(resp.Cert)
	if caBlock == nil || certBlock == nil {
		return nil, errors.New("enroll: collector answered with invalid PEM")
	}
	sum := sha256.Sum256(caBlock.Bytes)
	if hex.EncodeToString(sum[:]) != enroll.NormalizeFingerprint(o.Fingerprint) {
		return nil, errors.New("enroll: the CA the collector returned does not match the pinned fingerprint")
	}
	ca, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("enroll: collector CA: %w", err)
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("enroll: agent certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("enroll: the certificate is not for the key this agent generated")
	}
	if cert.Subject.CommonName != o.Name {
		return nil, fmt.Errorf("enroll: certificate is for %q, not %q", cert.Subject.CommonName, o.Name)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("enroll: certificate does not verify against the collector CA: %w", err)
	}
	return cert, nil
}

// writeFile writes data atomically and durably (see shared/atomicfile).
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	if err := atomicfile.Write(path, data, mode); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	return nil
}
