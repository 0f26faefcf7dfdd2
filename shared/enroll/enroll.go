// Package enroll is the one-time enrollment exchange between a new agent
// and the collector, so an agent can get its certificate without copying a
// private key around.
//
// # Design
//
// `outpost-collector agent add NAME --token` stores the SHA-256 of a random
// token with an expiry in the inventory and prints the token together with
// the SHA-256 fingerprint of the collector's CA certificate. On the agent,
// `outpost-agent enroll` then:
//
//  1. generates its own ECDSA P-256 key (it never leaves the agent) and a
//     PKCS#10 CSR with CN = the agent name;
//  2. connects with TLS 1.3 over TCP to the collector's TCP listener
//     (listen.tcp, default :4701) offering ALPN "outpost-enroll/1" and no
//     client certificate;
//  3. accepts the server only if the chain it presents contains a CA
//     certificate whose SHA-256 is the printed fingerprint and the server
//     certificate verifies against that CA for server auth (Enroll does this);
//  4. sends one Request {agent, token, CSR DER} and reads one Response
//     {certificate PEM, CA PEM, assigned host patterns} or an error.
//
// The collector checks the token (constant-time hash comparison, expiry,
// agent not revoked), signs the CSR with CN = the agent name, records the
// certificate serial and clears the token (it works once). Each message is a
// 4-byte big-endian length followed by JSON, at most MaxMessage bytes.
package enroll

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ALPN is the TLS application protocol of the enrollment exchange.
const ALPN = "outpost-enroll/1"

// MaxMessage is the largest request or response either side reads.
const MaxMessage = 64 << 10

// ErrRefused is returned by a collector-side token check for a bad, used or
// expired token or an unknown or revoked agent. The agent is only told
// "refused", never which check failed.
var ErrRefused = errors.New("enrollment refused")

// TokenPrefix starts every enrollment token.
const TokenPrefix = "ope_"

// Request is what the agent sends.
type Request struct {
	Agent string `json:"agent"`
	Token string `json:"token"`
	CSR   []byte `json:"csr"` // PKCS#10, DER
}

// Response is what the collector answers. Error is set (and nothing else)
// when enrollment is refused.
type Response struct {
	Cert  []byte   `json:"cert,omitempty"` // PEM, the agent certificate
	CA    []byte   `json:"ca,omitempty"`   // PEM, the collector CA
	Hosts []string `json:"hosts,omitempty"`
	Error string   `json:"error,omitempty"`
}

// NewToken returns a fresh random token (TokenPrefix + 43 base64url characters).
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashToken returns the hex SHA-256 of a token: what the inventory stores.
func HashToken(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// TokenMatches compares a token with a stored hash in constant time.
func TokenMatches(tok, hash string) bool {
	if hash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashToken(tok)), []byte(hash)) == 1
}

// WriteMessage writes v as one length-prefixed JSON message.
func WriteMessage(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("enroll: encode: %w", err)
	}
	if len(body) > MaxMessage {
		return fmt.Errorf("enroll: message of %d bytes exceeds %d", len(body), MaxMessage)
	}
	msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body)))
	_, err = w.Write(append(msg, body...))
	return err
}

// ReadMessage reads one length-prefixed JSON message into v, refusing more
// than MaxMessage bytes before reading them.
func ReadMessage(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("enroll: read: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxMessage {
		return fmt.Errorf("enroll: message of %d bytes exceeds %d", n, MaxMessage)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return fmt.Errorf("enroll: read: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("enroll: decode: %w", err)
	}
	return nil
}

// NormalizeFingerprint lower-cases a fingerprint and drops a "sha256:"
// prefix and ':' separators.
func NormalizeFingerprint(fp string) string {
	fp = strings.ToLower(strings.TrimSpace(fp))
	fp = strings.TrimPrefix(fp, "sha256:")
	return strings.ReplaceAll(fp, ":", "")
}

// PinnedConfig returns a client TLS configuration that trusts exactly the
// CA with the given SHA-256 fingerprint, which the server must present in
// its chain, for server auth. The host name is not checked: the pin is the
// trust anchor.
func PinnedConfig(fingerprint string) *tls.Config {
	want := NormalizeFingerprint(fingerprint)
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{ALPN},
		InsecureSkipVerify: true, // replaced by VerifyConnection: pinned CA
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("enroll: server sent no certificate")
			}
			var ca *x509.Certificate
			for _, c := range cs.PeerCertificates[1:] {
				sum := sha256.Sum256(c.Raw)
				if hex.EncodeToString(sum[:]) == want && c.IsCA {
					ca = c
				}
			}
			if ca == nil {
				return errors.New("enroll: the collector's CA does not match the pinned fingerprint")
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca)
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
				Roots:     pool,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				return fmt.Errorf("enroll: server certificate: %w", err)
			}
			return nil
		},
	}
}

// Enroll runs the exchange against the collector at addr (host:port of its
// TCP listener). A refusal comes back as an error holding the collector's
// reason; the token never appears in errors.
func Enroll(ctx context.Context, addr, fingerprint string, req Request) (Response, error) {
	d := tls.Dialer{Config: PinnedConfig(fingerprint)}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Response{}, fmt.Errorf("enroll: connect %s: %w", addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if err := WriteMessage(c, req); err != nil {
		return Response{}, err
	}
	var resp Response
	if err := ReadMessage(c, &resp); err != nil {
		return Response{}, err
	}
	if resp.Error != "" {
		return Response{}, fmt.Errorf("enroll: refused by the collector: %s", resp.Error)
	}
	if len(resp.Cert) == 0 || len(resp.CA) == 0 {
		return Response{}, errors.New("enroll: collector answered without a certificate")
	}
	return resp, nil
}

// ServerConn is what the collector side reads from: a net.Conn is one.
type ServerConn interface {
	io.ReadWriter
	SetDeadline(time.Time) error
}

var _ ServerConn = (net.Conn)(nil)
