package web

// The Agents page (/agents) and GET /api/v1/agents: every enrolled agent
// with its last contact, spool progress, clock skew and what the collector
// refused from it (issue 15, issue 22), so an operator sees which site has
// a problem and why.

import (
	"context"
	"net/http"
	"time"
)

// AgentJSON is one item of GET /api/v1/agents.
type AgentJSON struct {
	Name         string    `json:"name"`
	Hosts        []string  `json:"hosts"` // host name patterns it may write
	Revoked      bool      `json:"revoked"`
	LastSeen     time.Time `json:"last_seen,omitzero"` // last session start
	LastAddress  string    `json:"last_address,omitempty"`
	Software     string    `json:"software,omitempty"`
	CertNotAfter time.Time `json:"cert_not_after,omitzero"`
	// Spool progress as of the collector's last checkpoint.
	Epoch          uint64 `json:"epoch"`
	AckedSeq       uint64 `json:"acked_seq"`
	DroppedBatches uint64 `json:"dropped_batches"`
	DroppedSamples uint64 `json:"dropped_samples"`
	Corrupt        uint64 `json:"corrupt"`
	// ClockSkewSeconds is the collector's clock minus the agent's, as last
	// measured (negative: the agent is ahead); ClockWrong is true when
	// it is beyond the collector's listen.max_clock_skew.
	ClockSkewSeconds float64       `json:"clock_skew_seconds"`
	ClockWrong       bool          `json:"clock_wrong"`
	Refusals         []RefusalJSON `json:"refusals"`
}

// RefusalJSON counts what the collector refused from an agent, by kind.
type RefusalJSON struct {
	Kind       string    `json:"kind"` // frame, oversize, clock-skew, host, quota
	Count      int64     `json:"count"`
	FirstAt    time.Time `json:"first_at"`
	LastAt     time.Time `json:"last_at"`
	LastReason string    `json:"last_reason"`
}

// agentRows gathers every agent with its stream, skew and refusals.
func (s *Server) agentRows(ctx context.Context) ([]AgentJSON, error) {
	agents, err := s.o.DB.ListAgents(ctx)
	if err != nil {
		return nil, err
	}
	streams, err := s.o.DB.LoadStreams(ctx)
	if err != nil {
		return nil, err
	}
	refusals, err := s.o.DB.Refusals(ctx)
	if err != nil {
		return nil, err
	}
	byAgent := map[string][]RefusalJSON{}
	for _, r := range refusals {
		byAgent[r.Agent] = append(byAgent[r.Agent], RefusalJSON{Kind: string(r.Kind), Count: r.Count, FirstAt: r.FirstAt, LastAt: r.LastAt, LastReason: r.LastReason})
	}
	out := make([]AgentJSON, 0, len(agents))
	for _, a := range agents {
		skew, err := s.o.DB.ClockSkew(ctx, a.Name)
		if err != nil {
			return nil, err
		}
		st := streams[a.Name]
		j := AgentJSON{Name: a.Name, Hosts: a.Hosts, Revoked: a.Revoked(), LastSeen: a.LastSeen, LastAddress: a.LastAddress,
			Software: a.Software, CertNotAfter: a.CertNotAfter, Epoch: st.Epoch, AckedSeq: st.AckedSeq,
			DroppedBatches: st.DroppedBatches, DroppedSamples: st.DroppedSamples, Corrupt: st.Corrupt,
			ClockSkewSeconds: skew.Seconds(), ClockWrong: s.o.MaxClockSkew > 0 && (skew > s.o.MaxClockSkew || skew < -s.o.MaxClockSkew),
			Refusals: byAgent[a.Name]}
		if j.Hosts == nil {
			j.Hosts = []string{}
		}
		if j.Refusals == nil {
			j.Refusals = []RefusalJSON{}
		}
		out = append(out, j)
	}
	return out, nil
}

// apiAgents is GET /api/v1/agents.
func (s *Server) apiAgents(w http.ResponseWriter, r *http.Request) {
	rows, err := s.agentRows(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": rows})
}

// agentsPage is the Agents page.
func (s *Server) agentsPage(w http.ResponseWriter, r *http.Request) {
	rows, err := s.agentRows(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "agents", struct {
		Agents       []AgentJSON
		MaxClockSkew time.Duration
	}{rows, s.o.MaxClockSkew})
}
