package snmpsim

import (
	"bytes"
	"crypto/subtle"

	"github.com/gosnmp/gosnmp"
)

// SNMP error-status values beyond the common ones.
const (
	errAuthorizationError = 16
)

// request is a decoded PDU, independent of the message version.
type request struct {
	version gosnmp.SnmpVersion
	typ     byte
	reqID   int32
	nonRep  int
	maxRep  int
	oids    []oid
}

// Handle answers one request datagram and returns the response datagram,
// or nil when the device would not answer (malformed packet, wrong
// community, v3 message that gets no report). Handle may modify req.
func (d *Device) Handle(req []byte) []byte {
	r := &berReader{b: req}
	if _, err := r.enter(tagSequence); err != nil {
		return nil
	}
	v, err := r.int()
	if err != nil {
		return nil
	}
	switch v {
	case 0, 1:
		return d.handleCommunity(req)
	case 3:
		return d.handleV3(req)
	}
	return nil
}

func (d *Device) handleCommunity(msg []byte) []byte {
	x := &gosnmp.GoSNMP{}
	p, err := x.SnmpDecodePacket(msg)
	if err != nil || d.cfg.Community == "" {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(p.Community), []byte(d.cfg.Community)) != 1 {
		return nil // real agents stay silent: the client sees a timeout
	}
	rq, ok := toRequest(p)
	if !ok || (rq.version == gosnmp.Version1 && rq.typ == tagGetBulk) {
		return nil
	}
	overhead := 4 + 3 + headerLen(len(p.Community)) + len(p.Community) + pduOverhead
	pdu := d.answer(rq, d.cfg.MaxMsgSize-overhead)
	out := appendInt(make([]byte, 0, len(pdu)+32), tagInteger, int64(rq.version))
	out = appendTLV(out, tagOctetString, []byte(p.Community))
	out = append(out, pdu...)
	return appendTLV(make([]byte, 0, len(out)+4), tagSequence, out)
}

// pduOverhead bounds the bytes of a response PDU around its varbinds:
// PDU header, request-id, error-status, error-index, varbind-list header.
const pduOverhead = 4 + 6 + 3 + 3 + 4

// toRequest converts a gosnmp packet into a request; ok is false for PDU
// types the device does not serve or unparsable OIDs.
func toRequest(p *gosnmp.SnmpPacket) (request, bool) {
	rq := request{version: p.Version, reqID: int32(p.RequestID)}
	switch p.PDUType {
	case gosnmp.GetRequest:
		rq.typ = tagGetRequest
	case gosnmp.GetNextRequest:
		rq.typ = tagGetNext
	case gosnmp.GetBulkRequest:
		rq.typ = tagGetBulk
		rq.nonRep, rq.maxRep = int(p.NonRepeaters), int(p.MaxRepetitions)
	case gosnmp.SetRequest:
		rq.typ = tagSetRequest
	default:
		return rq, false
	}
	rq.oids = make([]oid, len(p.Variables))
	for i, v := range p.Variables {
		o, err := parseOID(v.Name)
		if err != nil {
			return rq, false
		}
		rq.oids[i] = o
	}
	return rq, true
}

func isCounter64(ob obj) bool { return ob >= objIfHCInOctets && ob <= objIfHCOutBroadcastPkts }

// answer builds the response PDU for rq with at most budget bytes of
// varbinds.
func (d *Device) answer(rq request, budget int) []byte {
	v1 := rq.version == gosnmp.Version1
	echo := func(status, index int) []byte {
		var vbs []byte
		for _, o := range rq.oids {
			vbs = appendVarbind(vbs, encodeOID(o), value{tag: tagNull})
		}
		return appendPDU(nil, tagResponse, rq.reqID, status, index, vbs)
	}
	tooBig := func() []byte {
		if v1 {
			return echo(errTooBig, 0)
		}
		return appendPDU(nil, tagResponse, rq.reqID, errTooBig, 0, nil)
	}
	if rq.typ == tagSetRequest {
		if v1 {
			return echo(errNoSuchName, 1)
		}
		return echo(errNoAccess, 1)
	}

	d.mu.RLock()
	defer d.mu.RUnlock()
	t := d.table.Load()
	now := d.cfg.Clock()
	vbs := make([]byte, 0, min(budget, 4096))
	// from returns the varbind of the first entry at or after position i
	// that the version can carry, and the position after it; ok is false at
	// the end of the MIB.
	from := func(i int) (name []byte, val value, nextPos int, ok bool) {
		for ; i < len(t.entries); i++ {
			e := &t.entries[i]
			if v1 && isCounter64(e.obj) {
				continue // v1 cannot carry Counter64: skip, as agents do
			}
			return e.enc, d.valueLocked(e.obj, e.row, now), i + 1, true
		}
		return nil, value{}, len(t.entries), false
	}
	// next is GetNext of o: the varbind after it, or endOfMibView (named o).
	next := func(o oid) (name []byte, val value, nextPos int, ok bool) {
		name, val, nextPos, ok = from(t.after(o))
		if !ok {
			return encodeOID(o), value{tag: tagEndOfMib}, nextPos, false
		}
		return name, val, nextPos, true
	}

	switch rq.typ {
	case tagGetRequest:
		for i, o := range rq.oids {
			var name []byte
			var val value
			if pos := t.exact(o); pos >= 0 && !(v1 && isCounter64(t.entries[pos].obj)) {
				e := &t.entries[pos]
				name, val = e.enc, d.valueLocked(e.obj, e.row, now)
				d.countGet(o)
			} else if v1 {
				return echo(errNoSuchName, i+1)
			} else if t.isObject(o) {
				name, val = encodeOID(o), value{tag: tagNoSuchInst}
			} else {
				name, val = encodeOID(o), value{tag: tagNoSuchObj}
			}
			vbs = appendVarbind(vbs, name, val)
			if len(vbs) > budget {
				return tooBig()
			}
		}
	case tagGetNext:
		for i, o := range rq.oids {
			name, val, _, ok := next(o)
			if !ok && v1 {
				return echo(errNoSuchName, i+1)
			}
			vbs = appendVarbind(vbs, name, val)
			if len(vbs) > budget {
				return tooBig()
			}
		}
	case tagGetBulk:
		nonRep := min(max(rq.nonRep, 0), len(rq.oids))
		for _, o := range rq.oids[:nonRep] {
			name, val, _, _ := next(o)
			n := len(vbs)
			vbs = appendVarbind(vbs, name, val)
			if len(vbs) > budget {
				vbs = vbs[:n]
				goto done
			}
		}
		if rep := rq.oids[nonRep:]; len(rep) > 0 && rq.maxRep > 0 {
			// Each repeater continues from the position after its last
			// answer: one binary search per repeater, not per varbind.
			pos := make([]int, len(rep))
			for j, o := range rep {
				pos[j] = t.after(o)
			}
			last := append([]oid(nil), rep...) // the OID an ended repeater repeats
			for r := 0; r < rq.maxRep; r++ {
				all := true
				for j := range rep {
					name, val, np, ok := from(pos[j])
					if ok {
						last[j] = t.entries[np-1].oid
					} else {
						name, val = encodeOID(last[j]), value{tag: tagEndOfMib}
					}
					n := len(vbs)
					vbs = appendVarbind(vbs, name, val)
					if len(vbs) > budget {
						vbs = vbs[:n]
						goto done
					}
					pos[j] = np
					all = all && !ok
				}
				if all {
					break
				}
			}
		}
	done:
		if len(vbs) == 0 && len(rq.oids) > 0 && (rq.maxRep > 0 || nonRep > 0) {
			return tooBig()
		}
	}
	return appendPDU(make([]byte, 0, len(vbs)+pduOverhead), tagResponse, rq.reqID, errNoError, 0, vbs)
}

// handleV3 applies the USM checks of RFC 3414 section 3.2 in order and
// answers with a Report PDU on the first failure (when the request is
// reportable), or with the response.
func (d *Device) handleV3(msg []byte) []byte {
	h, err := parseV3Header(msg)
	if err != nil || h.secModel != int64(gosnmp.UserSecurityModel) {
		return nil
	}
	level := h.flags & byte(gosnmp.AuthPriv)
	if level == 2 { // privacy without authentication is invalid
		return nil
	}
	reportable := h.flags&byte(gosnmp.Reportable) != 0
	maxSize := d.cfg.MaxMsgSize
	if h.maxSize >= 484 && int(h.maxSize) < maxSize {
		maxSize = int(h.maxSize)
	}

	d.mu.RLock()
	now := d.cfg.Clock()
	boots, etime := uint32(d.boots), d.engineTime(now)
	d.mu.RUnlock()
	resp := v3Response{msgID: h.msgID, user: h.user, boots: boots, time: etime, maxSize: maxSize}

	report := func(o oid, counter *uint32, keys *userKeys, reqID int32) []byte {
		d.mu.Lock()
		*counter++
		n := *counter
		d.mu.Unlock()
		if !reportable {
			return nil
		}
		r := resp
		r.keys = keys
		if keys != nil {
			r.flags = byte(gosnmp.AuthNoPriv)
		}
		vbs := appendVarbind(nil, encodeOID(o), value{tag: tagCounter32, u: uint64(n)})
		out, err := d.encodeV3(r, nil, appendPDU(nil, tagReport, reqID, 0, 0, vbs))
		if err != nil {
			return nil
		}
		return out
	}
	plainReqID := func() int32 {
		if level == byte(gosnmp.AuthPriv) {
			return 0
		}
		return scopedRequestID(msg[h.scopedOff:])
	}

	if !bytes.Equal(h.engineID, d.cfg.EngineID) {
		return report(oidUnknownEngineIDs, &d.stats.unknownEngineIDs, nil, plainReqID())
	}
	keys := d.users[string(h.user)]
	if keys == nil {
		return report(oidUnknownUserNames, &d.stats.unknownUserNames, nil, plainReqID())
	}
	if level > byte(keys.level) {
		return report(oidUnsupportedSecLevels, &d.stats.unsupportedSecLevels, nil, plainReqID())
	}
	if level&byte(gosnmp.AuthNoPriv) != 0 {
		if !keys.checkDigest(msg, h) {
			return report(oidWrongDigests, &d.stats.wrongDigests, nil, plainReqID())
		}
		if h.boots != int64(boots) || h.time < int64(etime)-timeWindow || h.time > int64(etime)+timeWindow {
			return report(oidNotInTimeWindows, &d.stats.notInTimeWindows, keys, plainReqID())
		}
	}

	x := &gosnmp.GoSNMP{
		Version:            gosnmp.Version3,
		SecurityModel:      gosnmp.UserSecurityModel,
		MsgFlags:           gosnmp.SnmpV3MsgFlags(level),
		SecurityParameters: keys.sp.Copy(),
	}
	if level == byte(gosnmp.AuthPriv) && len(h.privParams) != 8 {
		// The salt cannot be used: the only decryption failure USM can
		// detect (RFC 3414 section 3.2 step 8).
		return report(oidDecryptionErrors, &d.stats.decryptionErrors, nil, 0)
	}
	p, err := x.SnmpDecodePacket(msg)
	if err != nil {
		// A wrong privacy passphrase decrypts to garbage that does not
		// parse; net-snmp's snmpd drops it (snmpInASNParseErrs), so the
		// client times out. Do the same.
		return nil
	}
	rq, ok := toRequest(p)
	if !ok {
		return nil
	}
	resp.keys, resp.flags = keys, level
	if level < byte(keys.level) {
		// The user exists but is only granted access at its own level
		// (net-snmp's "rouser NAME priv"): VACM refuses the request.
		out, err := d.encodeV3(resp, []byte(p.ContextName), appendPDU(nil, tagResponse, rq.reqID, errAuthorizationError, 0, nil))
		if err != nil {
			return nil
		}
		return out
	}
	overhead := v3Overhead(len(d.cfg.EngineID), len(h.user), len(p.ContextName))
	pdu := d.answer(rq, maxSize-overhead)
	out, err := d.encodeV3(resp, []byte(p.ContextName), pdu)
	if err != nil {
		return nil
	}
	return out
}

// v3Overhead bounds the bytes of a v3 message around its varbinds.
func v3Overhead(engineIDLen, userLen, ctxNameLen int) int {
	return 4 + 3 + // message SEQUENCE, version
		22 + // header data: SEQUENCE, msgID, msgMaxSize, msgFlags, msgSecurityModel
		4 + 4 + (2 + engineIDLen) + 6 + 6 + (3 + userLen) + (2 + 48) + (2 + 8) + // USM parameters
		4 + 8 + 4 + (2 + engineIDLen) + (3 + ctxNameLen) + // encrypted scoped PDU, DES padding, SEQUENCE, context
		pduOverhead
}

// scopedRequestID reads the request-id of a plaintext scoped PDU, or 0.
func scopedRequestID(b []byte) int32 {
	r := &berReader{b: b}
	if _, err := r.enter(tagSequence); err != nil {
		return 0
	}
	if _, _, err := r.octets(); err != nil {
		return 0
	}
	if _, _, err := r.octets(); err != nil {
		return 0
	}
	if r.off >= len(b) {
		return 0
	}
	tag := b[r.off]
	if tag < tagGetRequest || tag > tagReport {
		return 0
	}
	if _, err := r.enter(tag); err != nil {
		return 0
	}
	id, err := r.int()
	if err != nil {
		return 0
	}
	return int32(id)
}
