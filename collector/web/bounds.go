package web

// Bounds on the requests that read archives: graphs (PNG, SVG), the
// chart's series, exports (CSV, JSON) and live streams. Any logged-in user
// can ask for them, so none of them may take the collector down:
//
//   - a heavy request (graph, series, export) waits at most heavyWait for
//     one of Options.MaxHeavy slots, of which one user holds at most
//     Options.MaxHeavyPerUser; without a slot it is answered 429 with the
//     limit that refused it;
//   - its work (reading the archive, drawing, encoding) runs in a goroutine
//     of its own under Options.RequestTimeout and a recover: a panic is
//     logged with its stack and answered 500, the deadline 503; the
//     answer is built in memory first, so a failure is never a 200 with a
//     truncated body;
//   - the slot is held until the work returns, also after a deadline
//     answer, so abandoned work cannot pile up;
//   - what the work may read is bounded by graph.MaxRows and
//     graph.MaxValues (see graph.Load), and the range by graphRequest;
//   - live streams are counted apart (they last): Options.MaxLive in all,
//     Options.MaxLivePerUser per user, 429 beyond.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/outpost-nms/outpost/collector/graph"
	"github.com/outpost-nms/outpost/collector/inventory"
)

// Defaults of the Options that bound archive requests.
const (
	DefaultRequestTimeout  = 30 * time.Second
	DefaultMaxHeavy        = 4
	DefaultMaxHeavyPerUser = 2
	DefaultMaxLive         = 256
	DefaultMaxLivePerUser  = 8
	// heavyWait is how long a heavy request waits for a slot before 429.
	heavyWait = 2 * time.Second
)

// slots counts what is running per user and in total, with a limit on each.
// The zero value is unusable; see newSlots.
type slots struct {
	what           string // "graph and export requests", "live streams"
	max, perUser   int
	mu             sync.Mutex
	total          int
	users          map[string]int
	freed          chan struct{} // closed, and replaced, whenever a slot frees
	refusedUser    string        // the answers to a refusal
	refusedOverall string
}

func newSlots(what string, max, perUser int) *slots {
	return &slots{what: what, max: max, perUser: perUser, users: map[string]int{}, freed: make(chan struct{}),
		refusedUser:    fmt.Sprintf("too many %s at once for one user (at most %d); try again when one has finished", what, perUser),
		refusedOverall: fmt.Sprintf("too many %s at once (at most %d for all users); try again in a moment", what, max)}
}

// errSlotsBusy is wrapped by slots.acquire's refusals.
var errSlotsBusy = errors.New("busy")

// tryAcquire takes a slot for user, or says why it cannot.
func (s *slots) tryAcquire(user string) (release func(), freed <-chan struct{}, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.users[user] >= s.perUser:
		return nil, s.freed, fmt.Errorf("%w: %s", errSlotsBusy, s.refusedUser)
	case s.total >= s.max:
		return nil, s.freed, fmt.Errorf("%w: %s", errSlotsBusy, s.refusedOverall)
	}
	s.total++
	s.users[user]++
	var once sync.Once
	return func() { once.Do(func() { s.release(user) }) }, nil, nil
}

func (s *slots) release(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.users[user]--; s.users[user] <= 0 {
		delete(s.users, user)
	}
	close(s.freed)
	s.freed = make(chan struct{})
}

// acquire takes a slot for user, waiting up to wait for one to free. The
// error wraps errSlotsBusy (and says which limit) or is ctx's.
func (s *slots) acquire(ctx context.Context, user string, wait time.Duration) (func(), error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		release, freed, err := s.tryAcquire(user)
		if err == nil {
			return release, nil
		}
		select {
		case <-freed:
		case <-timer.C:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// answer is a response built in memory by bounded work.
type answer struct {
	code   int
	header http.Header
	body   []byte
}

// jsonAnswer encodes v; an unencodable value (a NaN or an infinity that
// escaped the graph package) is an error, not a truncated 200.
func jsonAnswer(v any) (answer, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return answer{}, fmt.Errorf("encode the answer: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	return answer{code: http.StatusOK, header: h, body: buf.Bytes()}, nil
}

// heavy runs work as a bounded heavy request (see the top of this file)
// and writes its answer. what names the work in logs and errors ("draw the
// graph").
func (s *Server) heavy(w http.ResponseWriter, r *http.Request, what string, work func(ctx context.Context) (answer, error)) {
	user := principalOf(r).User.Name
	release, err := s.heavySlots.acquire(r.Context(), user, heavyWait)
	if err != nil {
		if errors.Is(err, errSlotsBusy) {
			s.log.Warn("archive request refused", "user", user, "path", r.URL.Path, "reason", err)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, err.Error())
		}
		return // else the client went away
	}
	// The work ends with the deadline, when the client goes away, and when
	// this handler returns (the request's context ends then).
	ctx, cancel := context.WithTimeout(r.Context(), s.o.RequestTimeout)
	defer cancel()
	type result struct {
		a   answer
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer release()
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("archive request panicked", "what", what, "path", r.URL.Path, "user", user, "panic", v, "stack", string(debug.Stack()))
				done <- result{err: fmt.Errorf("%w: %v", errPanicked, v)}
			}
		}()
		a, err := work(ctx)
		done <- result{a, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		select {
		case res = <-done: // finished just as the deadline passed
		default:
			if r.Context().Err() != nil {
				return // the client went away; the work ends with ctx
			}
			s.log.Error("archive request took too long", "what", what, "path", r.URL.Path, "query", r.URL.RawQuery, "user", user, "timeout", s.o.RequestTimeout)
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("could not %s within %s; try a shorter range or a smaller image", what, s.o.RequestTimeout))
			return
		}
	}
	if res.err != nil {
		s.heavyError(w, r, what, res.err)
		return
	}
	for k, v := range res.a.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(res.a.body)))
	w.WriteHeader(res.a.code)
	w.Write(res.a.body)
}

// errPanicked is wrapped by the error of heavy work that panicked.
var errPanicked = errors.New("internal error")

// heavyError answers the error of heavy work: 400 for a bad request or a
// range too large to read, 404 for a missing attribute, 503 for the
// deadline, 500 (logged) for anything else, each with its reason.
func (s *Server) heavyError(w http.ResponseWriter, r *http.Request, what string, err error) {
	var br badRequest
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.Error())
	case errors.Is(err, graph.ErrTooLarge):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("cannot %s: the archive holds more data for this range than one request may read (%d rows, %d values); choose a shorter range or fewer data sources", what, graph.MaxRows, graph.MaxValues))
	case errors.Is(err, inventory.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Error("archive request took too long", "what", what, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("could not %s within %s; try a shorter range or a smaller image", what, s.o.RequestTimeout))
	case errors.Is(err, context.Canceled):
	case errors.Is(err, errPanicked):
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("could not %s: internal error (logged)", what))
	default:
		s.log.Error("archive request failed", "what", what, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("could not %s: cannot read the archive (the collector's log has the details)", what))
	}
}
