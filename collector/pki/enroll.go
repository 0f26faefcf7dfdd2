package pki

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/outpost-nms/outpost/shared/enroll"
)

// EnrollStore is the part of the inventory enrollment needs.
type EnrollStore interface {
	// CompleteEnrollment checks the token against the agent's stored hash
	// and expiry (enroll.ErrRefused if it does not match, expired, was
	// used, or the agent is revoked or unknown), then atomically clears it
	// and records the new certificate. It returns the agent's host patterns.
	CompleteEnrollment(ctx context.Context, name, token, serial string, notAfter, now time.Time) ([]string, error)
}

// Enroller serves the collector side of package enroll's exchange.
type Enroller struct {
	CA       *Authority
	Store    EnrollStore
	Validity time.Duration // agent certificate validity; default DefaultAgentValidity
	Now      func() time.Time
	Log      *slog.Logger
}

// Serve handles one enrollment connection (already TLS-handshaken with
// ALPN enroll.ALPN): one request, one response.
func (e *Enroller) Serve(ctx context.Context, c enroll.ServerConn, remote string) error {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	log := e.Log
	if log == nil {
		log = slog.Default()
	}
	_ = c.SetDeadline(now().Add(30 * time.Second))
	var req enroll.Request
	if err := enroll.ReadMessage(c, &req); err != nil {
		log.Warn("enrollment: bad request", "remote", remote, "err", err)
		return err
	}
	refuse := func(reason string, err error) error {
		log.Warn("enrollment refused", "agent", req.Agent, "remote", remote, "reason", reason, "err", err)
		_ = enroll.WriteMessage(c, enroll.Response{Error: reason})
		return fmt.Errorf("enroll %s: %s: %w", req.Agent, reason, err)
	}
	if err := ValidAgentName(req.Agent); err != nil {
		return refuse("invalid agent name", err)
	}
	t := now()
	iss, err := e.CA.SignCSR(req.Agent, req.CSR, t, e.Validity)
	if err != nil {
		return refuse("invalid certificate request", err)
	}
	hosts, err := e.Store.CompleteEnrollment(ctx, req.Agent, req.Token, iss.Serial, iss.NotAfter, t)
	if err != nil {
		if errors.Is(err, enroll.ErrRefused) {
			return refuse("invalid, used or expired token, or agent unknown or revoked", err)
		}
		return refuse("internal error", err)
	}
	log.Info("agent enrolled", "agent", req.Agent, "remote", remote, "serial", iss.Serial, "not_after", iss.NotAfter)
	return enroll.WriteMessage(c, enroll.Response{Cert: iss.CertPEM, CA: e.CA.CAPEM(), Hosts: hosts})
}
