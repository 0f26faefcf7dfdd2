package web

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	var l loginLimiter
	now := time.Unix(1_700_000_000, 0)
	for i := 0; i < loginFailures; i++ {
		if l.blocked("192.0.2.1", now) {
			t.Fatalf("blocked after %d failures", i)
		}
		l.failed("192.0.2.1", now.Add(time.Duration(i)*time.Second))
	}
	if !l.blocked("192.0.2.1", now.Add(time.Minute)) {
		t.Fatal("not blocked after the allowed failures")
	}
	if l.blocked("192.0.2.2", now) {
		t.Fatal("another address blocked")
	}
	if l.blocked("192.0.2.1", now.Add(loginWindow+time.Minute)) {
		t.Fatal("still blocked after the window")
	}
	l.failed("192.0.2.3", now)
	l.succeeded("192.0.2.3")
	if len(l.fails) != 0 {
		t.Fatalf("state left: %v", l.fails)
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
