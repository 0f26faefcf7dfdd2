package web

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outpost-nms/outpost/collector/inventory"
)

// A token issued on the Account page with an expiry works until then,
// shows its expiry, and is refused (401) after it; an expiry outside the
// offered ones is a 400.
func TestAccountTokenExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	csrf := e.login(c, "viewer", viewerPass)
	res, err := c.PostForm(e.ts.URL+"/account/tokens", url.Values{"csrf": {csrf}, "label": {"cron"}, "expires": {"30"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`id="new-token"><code>(` + inventory.APITokenPrefix + `[A-Za-z0-9_-]+)</code>`).FindSubmatch(body)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("token page: %d %s", res.StatusCode, body)
	}
	tok := "Bearer " + string(m[1])
	want := time.Unix(e.clock.Load(), 0).AddDate(0, 0, 30).UTC().Format("2006-01-02 15:04:05Z")
	if !strings.Contains(string(body), want) {
		t.Errorf("the token list does not show the expiry %s", want)
	}
	if res, _ := get(t, e.client(), e.ts.URL+"/api/v1/status", "Authorization", tok); res.StatusCode != http.StatusOK {
		t.Fatalf("the new token: %d", res.StatusCode)
	}
	e.clock.Add(30 * 86400)
	if res, _ := get(t, e.client(), e.ts.URL+"/api/v1/status", "Authorization", tok); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after 30 days: %d, want 401", res.StatusCode)
	}
	c = e.client() // the session ended too (12 h)
	csrf = e.login(c, "viewer", viewerPass)
	_, page := get(t, c, e.ts.URL+"/account")
	if !strings.Contains(string(page), `<span class="tag">expired</span>`) {
		t.Error("the account page does not mark the expired token")
	}
	for _, bad := range []string{"5", "-1", "forever", "36500"} {
		res, err := c.PostForm(e.ts.URL+"/account/tokens", url.Values{"csrf": {csrf}, "label": {"x"}, "expires": {bad}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("expires=%s: %d, want 400", bad, res.StatusCode)
		}
	}
}
