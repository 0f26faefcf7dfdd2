package enroll

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/shared/enroll"
)

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCheckRefusesWrongAnswers: the bundle a collector returns must be for
// this agent's key and name, chain to the returned CA, and that CA must be
// the pinned one.
func TestCheckRefusesWrongAnswers(t *testing.T) {
	caKey := mustKey(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	sum := sha256.Sum256(caDER)
	fp := "sha256:" + hex.EncodeToString(sum[:])
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	agentKey := mustKey(t)
	issue := func(cn string, pub *ecdsa.PublicKey, usage x509.ExtKeyUsage) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	good := issue("site1", &agentKey.PublicKey, x509.ExtKeyUsageClientAuth)
	for _, tc := range []struct {
		name    string
		resp    enroll.Response
		fp      string
		wantErr string
	}{
		{"good", enroll.Response{Cert: good, CA: caPEM}, fp, ""},
		{"other CA than pinned", enroll.Response{Cert: good, CA: caPEM}, "sha256:" + strings.Repeat("00", 32), "pinned fingerprint"},
		{"another key", enroll.Response{Cert: issue("site1", &mustKey(t).PublicKey, x509.ExtKeyUsageClientAuth), CA: caPEM}, fp, "not for the key"},
		{"another name", enroll.Response{Cert: issue("site2", &agentKey.PublicKey, x509.ExtKeyUsageClientAuth), CA: caPEM}, fp, "not \"site1\""},
		{"server usage only", enroll.Response{Cert: issue("site1", &agentKey.PublicKey, x509.ExtKeyUsageServerAuth), CA: caPEM}, fp, "does not verify"},
		{"not PEM", enroll.Response{Cert: []byte("junk"), CA: caPEM}, fp, "invalid PEM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := check(tc.resp, agentKey, Options{Name: "site1", Fingerprint: tc.fp})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("check = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
