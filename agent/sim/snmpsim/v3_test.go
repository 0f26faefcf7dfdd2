package snmpsim

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

var v3Users = []User{
	{Name: "md5des", AuthProto: "MD5", AuthPass: "md5-auth-pass", PrivProto: "DES", PrivPass: "des-priv-pass"},
	{Name: "shaaes", AuthProto: "SHA", AuthPass: "sha-auth-pass", PrivProto: "AES", PrivPass: "aes-priv-pass"},
	{Name: "sha224aes192", AuthProto: "SHA-224", AuthPass: "sha224-auth", PrivProto: "AES-192", PrivPass: "aes192-priv"},
	{Name: "sha256aes256", AuthProto: "SHA256", AuthPass: "sha256-auth", PrivProto: "AES256", PrivPass: "aes256-priv"},
	{Name: "sha384aes192c", AuthProto: "SHA-384", AuthPass: "sha384-auth", PrivProto: "AES-192-C", PrivPass: "aes192c-priv"},
	{Name: "sha512aes256c", AuthProto: "SHA-512", AuthPass: "sha512-auth", PrivProto: "AES-256-C", PrivPass: "aes256c-priv"},
	{Name: "authonly", AuthProto: "SHA-256", AuthPass: "auth-only-pass"},
	{Name: "noauth"},
}

// v3Client returns a gosnmp client for user u at the user's full level.
func v3Client(t *testing.T, addr *net.UDPAddr, u User) *gosnmp.GoSNMP {
	t.Helper()
	sp, err := u.usm()
	if err != nil {
		t.Fatal(err)
	}
	flags := gosnmp.NoAuthNoPriv
	if sp.AuthenticationProtocol != gosnmp.NoAuth {
		flags = gosnmp.AuthNoPriv
	}
	if sp.PrivacyProtocol != gosnmp.NoPriv {
		flags = gosnmp.AuthPriv
	}
	g := &gosnmp.GoSNMP{
		Target: addr.IP.String(), Port: uint16(addr.Port), Version: gosnmp.Version3,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: sp,
		Timeout: time.Second, Retries: 0, MaxRepetitions: 50,
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

func TestV3AllProtocolsWithGosnmp(t *testing.T) {
	clk := newFakeClock()
	ifs := GenerateInterfaces(120, 2)
	d, addr := startDevice(t, Config{Users: v3Users, Interfaces: ifs, Clock: clk.Now})
	clk.Advance(time.Minute)
	for _, u := range v3Users {
		t.Run(u.Name, func(t *testing.T) {
			g := v3Client(t, addr, u)
			r, err := g.Get([]string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.31.1.1.1.6.3"})
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got := string(r.Variables[0].Value.([]byte)); got != "sim-device" {
				t.Errorf("sysName = %q", got)
			}
			want, _ := d.Counter(3, "ifHCInOctets", clk.Now())
			if got := gosnmp.ToBigInt(r.Variables[1].Value).Uint64(); got != want {
				t.Errorf("ifHCInOctets.3 = %d, want %d", got, want)
			}
			// A bulk walk crosses many (truncated) encrypted responses.
			n := 0
			if err := g.BulkWalk(".1.3.6.1.2.1.31.1.1.1.1", func(gosnmp.SnmpPDU) error { n++; return nil }); err != nil {
				t.Fatalf("BulkWalk: %v", err)
			}
			if n != len(ifs) {
				t.Errorf("walk of ifName saw %d rows, want %d", n, len(ifs))
			}
		})
	}
}

func TestV3ErrorsWithGosnmp(t *testing.T) {
	clk := newFakeClock()
	d, addr := startDevice(t, Config{Users: v3Users, Interfaces: smallInterfaces(), Clock: clk.Now})
	good := v3Users[1]
	tests := []struct {
		name    string
		user    User
		level   gosnmp.SnmpV3MsgFlags
		wantErr string // gosnmp's error text; the same as against net-snmp's snmpd (see TestV3ErrorsMatchSnmpd)
	}{
		{"wrong auth passphrase", User{Name: good.Name, AuthProto: "SHA", AuthPass: "wrong-auth-pass", PrivProto: "AES", PrivPass: good.PrivPass}, gosnmp.AuthPriv, "incoming packet is not authentic, discarding"},
		{"unknown user", User{Name: "nobody", AuthProto: "SHA", AuthPass: good.AuthPass, PrivProto: "AES", PrivPass: good.PrivPass}, gosnmp.AuthPriv, "incoming packet is not authentic, discarding"},
		{"wrong priv passphrase", User{Name: good.Name, AuthProto: "SHA", AuthPass: good.AuthPass, PrivProto: "AES", PrivPass: "wrong-priv-pass"}, gosnmp.AuthPriv, "request timeout"},
		{"below the user's level", User{Name: good.Name, AuthProto: "SHA", AuthPass: good.AuthPass}, gosnmp.AuthNoPriv, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := v3Client(t, addr, tc.user)
			g.MsgFlags = tc.level | gosnmp.Reportable // as Connect sets it
			r, err := g.Get([]string{".1.3.6.1.2.1.1.5.0"})
			if tc.wantErr == "" {
				if err != nil || r.Error != gosnmp.AuthorizationError {
					t.Fatalf("got %v / %v, want an authorizationError response", err, r)
				}
				return
			}
			if err == nil || !contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if contains(err.Error(), "wrong-") {
				t.Fatalf("error leaks a passphrase: %v", err)
			}
		})
	}
	d.mu.RLock()
	st := d.stats
	d.mu.RUnlock()
	if st.wrongDigests != 1 || st.unknownUserNames != 1 || st.unknownEngineIDs < 4 {
		t.Errorf("usmStats after the error cases: %+v", st)
	}
}

// TestV3Reports checks each Report PDU the device sends, decoding the raw
// answer with gosnmp.
func TestV3Reports(t *testing.T) {
	clk := newFakeClock()
	d, err := New(Config{Users: v3Users, Interfaces: smallInterfaces(), Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(42 * time.Second)
	engine := string(d.EngineID())
	shaaes, authonly := v3Users[1], v3Users[6]

	request := func(u User, flags gosnmp.SnmpV3MsgFlags, engineID string, boots, etime uint32) []byte {
		sp, err := u.usm()
		if err != nil {
			t.Fatal(err)
		}
		sp.AuthoritativeEngineID, sp.AuthoritativeEngineBoots, sp.AuthoritativeEngineTime = engineID, boots, etime
		if err := sp.InitSecurityKeys(); err != nil {
			t.Fatal(err)
		}
		x := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: sp}
		b, err := x.SnmpEncodePacket(gosnmp.GetRequest, []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.Null}}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	discovery := func() []byte {
		p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel,
			SecurityParameters: &gosnmp.UsmSecurityParameters{}, PDUType: gosnmp.GetRequest, MsgID: 77, RequestID: 78}
		b, err := p.MarshalMsg()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name     string
		req      []byte
		decodeAs User
		flags    gosnmp.SnmpV3MsgFlags
		wantOID  string
	}{
		{"discovery", discovery(), User{Name: "x"}, gosnmp.NoAuthNoPriv, ".1.3.6.1.6.3.15.1.1.4.0"},
		{"unknown engine", request(shaaes, gosnmp.AuthPriv, "\x80\x00\x00\x00\x01other", 1, 42), User{Name: "x"}, gosnmp.NoAuthNoPriv, ".1.3.6.1.6.3.15.1.1.4.0"},
		{"unknown user", request(User{Name: "ghost", AuthProto: "SHA", AuthPass: "whatever1"}, gosnmp.AuthNoPriv, engine, 1, 42), User{Name: "x"}, gosnmp.NoAuthNoPriv, ".1.3.6.1.6.3.15.1.1.3.0"},
		{"wrong digest", request(User{Name: shaaes.Name, AuthProto: "SHA", AuthPass: "not-the-pass", PrivProto: "AES", PrivPass: shaaes.PrivPass}, gosnmp.AuthPriv, engine, 1, 42), User{Name: "x"}, gosnmp.NoAuthNoPriv, ".1.3.6.1.6.3.15.1.1.5.0"},
		{"unsupported level", request(User{Name: authonly.Name, AuthProto: "SHA256", AuthPass: authonly.AuthPass, PrivProto: "AES", PrivPass: "some-priv-pass"}, gosnmp.AuthPriv, engine, 1, 42), User{Name: "x"}, gosnmp.NoAuthNoPriv, ".1.3.6.1.6.3.15.1.1.1.0"},
		{"old boots", request(shaaes, gosnmp.AuthPriv, engine, 0, 42), shaaes, gosnmp.AuthNoPriv, ".1.3.6.1.6.3.15.1.1.2.0"},
		{"time too far", request(shaaes, gosnmp.AuthPriv, engine, 1, 42+151), shaaes, gosnmp.AuthNoPriv, ".1.3.6.1.6.3.15.1.1.2.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := d.Handle(tc.req)
			if resp == nil {
				t.Fatal("no report")
			}
			sp, err := tc.decodeAs.usm()
			if err != nil {
				t.Fatal(err)
			}
			sp.AuthoritativeEngineID = engine
			x := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: tc.flags, SecurityParameters: sp}
			p, err := x.SnmpDecodePacket(resp)
			if err != nil {
				t.Fatalf("decode report: %v", err)
			}
			if p.PDUType != gosnmp.Report || len(p.Variables) != 1 || p.Variables[0].Name != tc.wantOID {
				t.Fatalf("got %v %+v, want a report of %s", p.PDUType, p.Variables, tc.wantOID)
			}
			if p.MsgFlags&gosnmp.AuthPriv != tc.flags {
				t.Errorf("report flags %v, want %v", p.MsgFlags, tc.flags)
			}
			usp := p.SecurityParameters.(*gosnmp.UsmSecurityParameters)
			if usp.AuthoritativeEngineID != engine || usp.AuthoritativeEngineBoots != 1 || usp.AuthoritativeEngineTime != 42 {
				t.Errorf("report engine %x boots %d time %d", usp.AuthoritativeEngineID, usp.AuthoritativeEngineBoots, usp.AuthoritativeEngineTime)
			}
		})
	}
	// A non-reportable message gets no report.
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.NoAuthNoPriv, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{}, PDUType: gosnmp.GetRequest, MsgID: 1, RequestID: 1}
	b, _ := p.MarshalMsg()
	if resp := d.Handle(b); resp != nil {
		t.Error("a non-reportable discovery got an answer")
	}
}

// TestV3TimeWindowRecovery: a client holding a stale engine time gets an
// authenticated notInTimeWindow report, resynchronises and retries, as
// against a real agent.
func TestV3TimeWindowRecovery(t *testing.T) {
	clk := newFakeClock()
	d, addr := startDevice(t, Config{Users: v3Users, Interfaces: smallInterfaces(), Clock: clk.Now})
	g := v3Client(t, addr, v3Users[1])
	if _, err := g.Get([]string{".1.3.6.1.2.1.1.5.0"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	d.Restart(false) // boots 2, time 0: the client's view is now stale
	clk.Advance(time.Second)
	if _, err := g.Get([]string{".1.3.6.1.2.1.1.5.0"}); err != nil {
		t.Fatalf("Get after the device restarted: %v", err)
	}
	d.mu.RLock()
	n := d.stats.notInTimeWindows
	d.mu.RUnlock()
	if n != 1 {
		t.Errorf("notInTimeWindows = %d, want 1", n)
	}
}

func TestUserValidation(t *testing.T) {
	for _, u := range []User{
		{Name: ""},
		{Name: "a", AuthProto: "SHA", AuthPass: "short"},
		{Name: "a", AuthProto: "SHA3", AuthPass: "longenough"},
		{Name: "a", PrivProto: "AES", PrivPass: "longenough"},
		{Name: "a", AuthProto: "MD5", AuthPass: "longenough", PrivProto: "3DES", PrivPass: "longenough"},
	} {
		_, err := New(Config{Users: []User{u}})
		if err == nil {
			t.Errorf("user %+v accepted", u)
			continue
		}
		if contains(err.Error(), "longenough") || contains(err.Error(), "short\"") {
			t.Errorf("error leaks a passphrase: %v", err)
		}
	}
	if _, err := New(Config{Users: []User{v3Users[0], v3Users[0]}}); err == nil {
		t.Error("duplicate user accepted")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
