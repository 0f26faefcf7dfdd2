package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	var l loginLimiter
	now := time.Unix(1_700_000_000, 0)
	fail := func(addr, user string, at time.Time) limitReason {
		t.Helper()
		tk, why := l.reserve(addr, user, at)
		if tk != nil {
			tk.done(attemptFailed, at)
		}
		return why
	}
	for i := 0; i < loginFailures; i++ {
		if why := fail("192.0.2.1", "admin", now.Add(time.Duration(i)*time.Second)); why != limitNone {
			t.Fatalf("refused (%d) after %d failures", why, i)
		}
	}
	if why := fail("192.0.2.1", "other", now.Add(time.Minute)); why != limitAddress {
		t.Fatalf("not refused for the address after the allowed failures: %d", why)
	}
	if why := fail("192.0.2.2", "other", now); why != limitNone {
		t.Fatal("another address refused")
	}
	if why := fail("192.0.2.1", "other", now.Add(loginWindow+time.Minute)); why != limitNone {
		t.Fatal("still refused after the window")
	}

	// Attempts in progress count: the 11th concurrent reservation from one
	// address is refused before any password is checked.
	var held []*loginTicket
	for i := 0; i < loginFailures; i++ {
		tk, why := l.reserve("198.51.100.1", "bob", now)
		if tk == nil {
			t.Fatalf("reservation %d refused: %d", i, why)
		}
		held = append(held, tk)
	}
	if tk, why := l.reserve("198.51.100.1", "bob", now); tk != nil || why != limitAddress {
		t.Fatalf("reservation beyond the limit while %d run: %v %d", len(held), tk, why)
	}
	for _, tk := range held {
		tk.done(attemptVoid, now)
		tk.done(attemptFailed, now) // a second done changes nothing
	}
	if tk, _ := l.reserve("198.51.100.1", "bob", now); tk == nil {
		t.Fatal("void attempts were counted as failures")
	} else {
		tk.done(attemptSucceeded, now)
	}

	// The account limit holds across addresses.
	for i := 0; i < accountFailures; i++ {
		if why := fail(fmt.Sprintf("203.0.113.%d", i), "carol", now); why != limitNone {
			t.Fatalf("attempt %d for carol refused: %d", i, why)
		}
	}
	if why := fail("203.0.113.200", "carol", now); why != limitAccount {
		t.Fatalf("attempt beyond the account limit: %d", why)
	}
	if why := fail("203.0.113.200", "dave", now); why != limitNone {
		t.Fatalf("another account refused: %d", why)
	}
	// A success forgets the account's failures.
	l2 := loginLimiter{}
	for i := 0; i < 3; i++ {
		tk, _ := l2.reserve("192.0.2.9", "erin", now)
		tk.done(attemptFailed, now)
	}
	tk, _ := l2.reserve("192.0.2.9", "erin", now)
	tk.done(attemptSucceeded, now)
	if len(l2.addrs) != 0 || len(l2.users) != 0 {
		t.Fatalf("state left after a success: %v %v", l2.addrs, l2.users)
	}
	// Absurdly long names share one key.
	if accountKey(strings.Repeat("x", 65)) != accountKey(strings.Repeat("y", 70)) {
		t.Error("long names do not share a key")
	}
}

// The limiter's memory is bounded whatever the addresses and names.
func TestLoginLimiterBounded(t *testing.T) {
	var l loginLimiter
	now := time.Unix(1_700_000_000, 0)
	for i := 0; i < loginClients+500; i++ {
		tk, _ := l.reserve(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), fmt.Sprintf("user%d", i), now)
		if tk != nil {
			tk.done(attemptFailed, now)
		}
	}
	if len(l.addrs) > loginClients || len(l.users) > loginClients {
		t.Fatalf("tracked %d addresses, %d accounts; at most %d", len(l.addrs), len(l.users), loginClients)
	}
}

func TestLoginThrottledOverHTTP(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	try := func(pass string) int {
		_, body := get(t, c, e.ts.URL+"/login")
		m := csrfRE.FindSubmatch(body)
		res, err := c.PostForm(e.ts.URL+"/login", url.Values{"csrf": {string(m[1])}, "user": {"admin"}, "password": {pass}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i := 0; i < loginFailures; i++ {
		if code := try("wrong-password"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := try(adminPass); code != http.StatusTooManyRequests {
		t.Fatalf("right password after %d failures: %d, want 429", loginFailures, code)
	}
	e.clock.Add(int64(loginWindow / time.Second))
	if code := try(adminPass); code != http.StatusSeeOther {
		t.Fatalf("after the window: %d", code)
	}
}

// 60 concurrent wrong passwords from one address: at most loginFailures of
// them are checked (401), the rest refused at once (429), because each
// attempt is reserved before bcrypt runs. Then the right password is
// refused too until the window passes.
func TestLoginThrottleRace(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	_, body := get(t, c, e.ts.URL+"/login")
	m := csrfRE.FindSubmatch(body)
	form := url.Values{"csrf": {string(m[1])}, "user": {"admin"}, "password": {"wrong-password"}}
	var wg sync.WaitGroup
	codes := make(chan int, 60)
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.PostForm(e.ts.URL+"/login", form)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for code := range codes {
		n[code]++
	}
	if n[http.StatusUnauthorized] > loginFailures || n[http.StatusUnauthorized]+n[http.StatusTooManyRequests] != 60 {
		t.Fatalf("60 concurrent wrong passwords: %v (at most %d checked)", n, loginFailures)
	}
	form.Set("password", adminPass)
	res, err := c.PostForm(e.ts.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password after the race: %d, want 429", res.StatusCode)
	}
}

// Wrong passwords for one account from many addresses hit the account
// limit; the message says which limit refused.
func TestLoginAccountLimit(t *testing.T) {
	e := newEnv(t)
	post := func(addr, user, pass string) (int, string) {
		// The login CSRF cookie and field are a pair the client chooses.
		tok := randomString()
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"csrf": {tok}, "user": {user}, "password": {pass}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: loginCSRFCookie, Value: tok})
		req.RemoteAddr = addr + ":40000"
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	for i := 0; i < accountFailures; i++ {
		if code, _ := post(fmt.Sprintf("203.0.113.%d", i), "admin", "wrong-password"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, body := post("198.51.100.50", "admin", adminPass)
	if code != http.StatusTooManyRequests || !strings.Contains(body, "for this account") {
		t.Fatalf("right password beyond the account limit from a fresh address: %d %q", code, body)
	}
	if code, _ := post("198.51.100.50", "viewer", viewerPass); code != http.StatusSeeOther {
		t.Fatalf("another account from the same address: %d", code)
	}
}
