package web

import (
	"strings"
	"testing"
)

// TestHostPageTimeSource: the host page says which protocol answered for
// an NTP server and, for plain client requests, that the offset is against
// the agent's own clock, with that clock's state; the text is escaped.
func TestHostPageTimeSource(t *testing.T) {
	e := newEnv(t)
	admin := e.client()
	e.login(admin, "admin", adminPass)
	section := func() string {
		t.Helper()
		res, body := get(t, admin, e.ts.URL+"/hosts/ntp1")
		page := string(body)
		i := strings.Index(page, `id="time-source"`)
		if res.StatusCode != 200 || i < 0 {
			t.Fatalf("host page: %d, time source section %d", res.StatusCode, i)
		}
		s := page[i:]
		return s[:strings.Index(s, "</section>")]
	}
	exec1(t, e.db, `UPDATE attributes SET props = '{"protocol":"mode6"}', status_reason = 'synchronised to 192.0.2.10, offset 0.21 ms' WHERE key = 'ntp'`)
	s := section()
	if !strings.Contains(s, ">mode6<") || strings.Contains(s, "agent's own clock") || !strings.Contains(s, "synchronised to 192.0.2.10") {
		t.Errorf("mode 6: %s", s)
	}
	exec1(t, e.db, `UPDATE attributes SET props = '{"protocol":"sntp","protocol_config":"auto","offset_reference":"agent clock","agent_clock":"not synchronised (ntpd at 127.0.0.1:123: <b>no system peer</b>)","agent_clock_synced":"false"}',
		status_reason = 'offset +1.2 ms against the agent''s clock' WHERE key = 'ntp'`)
	s = section()
	for _, want := range []string{">sntp <span class=\"muted\">(found by auto)</span>", "<b>against the agent's own clock</b>", `<span class="badge st-alert">unsynchronised</span>`, "not synchronised (ntpd at 127.0.0.1:123: &lt;b&gt;no system peer&lt;/b&gt;)", "offset &#43;1.2 ms against the agent&#39;s clock"} {
		if !strings.Contains(s, want) {
			t.Errorf("sntp section lacks %q:\n%s", want, s)
		}
	}
}
