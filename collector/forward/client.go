package forward

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/outpost-nms/outpost/shared/buildinfo"
)

// Endpoint is one remote-write store.
type Endpoint struct {
	Name    string // identifies the endpoint in logs, metrics and its position file
	URL     string
	Headers map[string]string // e.g. X-Scope-OrgID for a Mimir tenant
	// BasicAuth, when Username is set, authenticates with HTTP basic auth.
	Username, Password string
	// BearerTokenFile, when set, is read for every request (so a rotated
	// token is picked up) and sent as "Authorization: Bearer".
	BearerTokenFile string
	TLS             TLS
	// Timeout bounds one request; default 30 s.
	Timeout time.Duration
}

// TLS configures the connection to an https endpoint.
type TLS struct {
	CA         string // PEM file of CAs to trust instead of the system's
	Cert, Key  string // client certificate and key (mutual TLS)
	ServerName string // name to verify instead of the URL's host
}

// client sends encoded requests to one endpoint.
type client struct {
	ep   Endpoint
	http *http.Client
}

// newClient builds the HTTP client, loading the TLS files now so a bad
// file is an error at start.
func newClient(ep Endpoint) (*client, error) {
	if ep.Timeout <= 0 {
		ep.Timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if ep.TLS != (TLS{}) {
		cfg := &tls.Config{ServerName: ep.TLS.ServerName, MinVersion: tls.VersionTLS12}
		if ep.TLS.CA != "" {
			pem, err := os.ReadFile(ep.TLS.CA)
			if err != nil {
				return nil, fmt.Errorf("remote write %s: tls ca: %w", ep.Name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("remote write %s: tls ca %s: no PEM certificate in it", ep.Name, ep.TLS.CA)
			}
			cfg.RootCAs = pool
		}
		if ep.TLS.Cert != "" || ep.TLS.Key != "" {
			cert, err := tls.LoadX509KeyPair(ep.TLS.Cert, ep.TLS.Key)
			if err != nil {
				return nil, fmt.Errorf("remote write %s: tls cert/key: %w", ep.Name, err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = cfg
	}
	if ep.BearerTokenFile != "" {
		if _, err := os.ReadFile(ep.BearerTokenFile); err != nil {
			return nil, fmt.Errorf("remote write %s: bearer_token_file: %w", ep.Name, err)
		}
	}
	return &client{ep: ep, http: &http.Client{Transport: tr, Timeout: ep.Timeout}}, nil
}

// outcome classifies a store's answer.
type outcome int

const (
	sent      outcome = iota
	retryable         // 5xx, 429, network errors, timeouts
	badData           // 400: some series refused
	refused           // other 4xx
)

// result is the store's answer to one request.
type result struct {
	outcome    outcome
	code       int           // HTTP status, 0 for a network error
	reason     string        // the store's message or the error
	retryAfter time.Duration // from a 429's or 503's Retry-After
}

// maxReason bounds the store's message kept for logs.
const maxReason = 512

// send posts one snappy-compressed WriteRequest.
func (c *client) send(ctx context.Context, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ep.URL, bytes.NewReader(body))
	if err != nil {
		return result{outcome: refused, reason: err.Error()}
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "outpost-collector/"+buildinfo.Version())
	for k, v := range c.ep.Headers {
		req.Header.Set(k, v)
	}
	if c.ep.Username != "" {
		req.SetBasicAuth(c.ep.Username, c.ep.Password)
	}
	if c.ep.BearerTokenFile != "" {
		tok, err := os.ReadFile(c.ep.BearerTokenFile)
		if err != nil {
			return result{outcome: retryable, reason: fmt.Sprintf("bearer_token_file: %v", err)}
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{outcome: retryable, reason: ctx.Err().Error()}
		}
		var cerr *tls.CertificateVerificationError
		if errors.As(err, &cerr) {
			return result{outcome: retryable, reason: "TLS: " + cerr.Error()}
		}
		return result{outcome: retryable, reason: err.Error()}
	}
	msg, _ := io.ReadAll(io.LimitReader(res.Body, maxReason))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20)) // let the connection be reused
	res.Body.Close()
	r := result{code: res.StatusCode, reason: strings.TrimSpace(strings.ToValidUTF8(string(msg), "\uFFFD"))}
	switch {
	case res.StatusCode/100 == 2:
		r.outcome = sent
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode/100 == 5:
		r.outcome = retryable
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			r.retryAfter = time.Duration(s) * time.Second
		}
	case res.StatusCode == http.StatusBadRequest:
		r.outcome = badData
	default:
		r.outcome = refused
	}
	if r.reason == "" {
		r.reason = res.Status
	}
	return r
}

// encodeBody returns the snappy-compressed WriteRequest of series, reusing buf.
func encodeBody(buf, out []byte, series []*pending) (raw, body []byte) {
	raw = appendWriteRequest(buf[:0], series)
	body = s2.EncodeSnappy(out[:cap(out)], raw) // snappy block format, s2's faster encoder
	return raw, body
}
