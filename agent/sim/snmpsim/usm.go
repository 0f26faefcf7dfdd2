package snmpsim

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des" // DES is what SNMPv3 usmDESPrivProtocol is
	"crypto/hmac"
	"crypto/md5" // HMAC-MD5-96 is an SNMPv3 auth protocol
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"

	"github.com/gosnmp/gosnmp"
)

// Object identifiers of the usmStats counters sent in Report PDUs.
var (
	oidUnsupportedSecLevels = oidUsmStats.with(1, 0)
	oidNotInTimeWindows     = oidUsmStats.with(2, 0)
	oidUnknownUserNames     = oidUsmStats.with(3, 0)
	oidUnknownEngineIDs     = oidUsmStats.with(4, 0)
	oidWrongDigests         = oidUsmStats.with(5, 0)
	oidDecryptionErrors     = oidUsmStats.with(6, 0)
)

// timeWindow is the USM time window in seconds (RFC 3414 section 3.2).
const timeWindow = 150

// macLen is the length of the truncated HMAC of an auth protocol
// (RFC 3414: 12; RFC 7860: 16, 24, 32, 48).
func macLen(p gosnmp.SnmpV3AuthProtocol) int {
	switch p {
	case gosnmp.MD5, gosnmp.SHA:
		return 12
	case gosnmp.SHA224:
		return 16
	case gosnmp.SHA256:
		return 24
	case gosnmp.SHA384:
		return 32
	case gosnmp.SHA512:
		return 48
	default: // NoAuth: no MAC
	}
	return 0
}

func hashFunc(p gosnmp.SnmpV3AuthProtocol) func() hash.Hash {
	switch p {
	case gosnmp.MD5:
		return md5.New
	case gosnmp.SHA:
		return sha1.New
	case gosnmp.SHA224:
		return sha256.New224
	case gosnmp.SHA256:
		return sha256.New
	case gosnmp.SHA384:
		return sha512.New384
	default: // SHA512, below (NoAuth never gets here)
	}
	return sha512.New
}

// mac computes the truncated HMAC of msg with the user's localised key.
func (k *userKeys) mac(msg []byte) []byte {
	h := hmac.New(hashFunc(k.sp.AuthenticationProtocol), k.sp.SecretKey)
	h.Write(msg)
	return h.Sum(nil)[:k.authLen]
}

// v3Header is what the device reads of a v3 message before it knows the
// user: the header data and the USM security parameters (RFC 3412, 3414).
type v3Header struct {
	msgID      int64
	maxSize    int64
	flags      byte
	secModel   int64
	engineID   []byte
	boots      int64
	time       int64
	user       []byte
	authOff    int // offset of the msgAuthenticationParameters content in the message
	authLen    int
	privParams []byte
	scopedOff  int // offset of the scoped PDU (plain SEQUENCE or encrypted OCTET STRING)
}

var errMalformed = errors.New("malformed message")

// berReader walks BER TLVs of an untrusted buffer.
type berReader struct {
	b   []byte
	off int
}

// next reads one TLV header and returns its tag and the bounds of its
// content.
func (r *berReader) next() (tag byte, start, end int, err error) {
	if r.off+2 > len(r.b) {
		return 0, 0, 0, errMalformed
	}
	tag = r.b[r.off]
	l := int(r.b[r.off+1])
	p := r.off + 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 3 || p+n > len(r.b) {
			return 0, 0, 0, errMalformed
		}
		l = 0
		for i := 0; i < n; i++ {
			l = l<<8 | int(r.b[p+i])
		}
		p += n
	}
	if p+l > len(r.b) {
		return 0, 0, 0, errMalformed
	}
	return tag, p, p + l, nil
}

// enter reads a constructed TLV with the given tag and positions the
// reader at its first child.
func (r *berReader) enter(tag byte) (end int, err error) {
	t, s, e, err := r.next()
	if err != nil || t != tag {
		return 0, errMalformed
	}
	r.off = s
	return e, nil
}

func (r *berReader) int() (int64, error) {
	t, s, e, err := r.next()
	if err != nil || t != tagInteger || e == s || e-s > 8 {
		return 0, errMalformed
	}
	v := int64(int8(r.b[s]))
	for _, c := range r.b[s+1 : e] {
		v = v<<8 | int64(c)
	}
	r.off = e
	return v, nil
}

func (r *berReader) octets() (content []byte, start int, err error) {
	t, s, e, err := r.next()
	if err != nil || t != tagOctetString {
		return nil, 0, errMalformed
	}
	r.off = e
	return r.b[s:e], s, nil
}

// parseV3Header reads a v3 message up to the scoped PDU.
func parseV3Header(msg []byte) (*v3Header, error) {
	r := &berReader{b: msg}
	if _, err := r.enter(tagSequence); err != nil {
		return nil, err
	}
	if v, err := r.int(); err != nil || v != 3 {
		return nil, errMalformed
	}
	h := &v3Header{}
	if _, err := r.enter(tagSequence); err != nil {
		return nil, err
	}
	var err error
	if h.msgID, err = r.int(); err != nil {
		return nil, err
	}
	if h.maxSize, err = r.int(); err != nil {
		return nil, err
	}
	flags, _, err := r.octets()
	if err != nil || len(flags) != 1 {
		return nil, errMalformed
	}
	h.flags = flags[0]
	if h.secModel, err = r.int(); err != nil {
		return nil, err
	}
	sec, secStart, err := r.octets()
	if err != nil {
		return nil, err
	}
	h.scopedOff = r.off
	if h.secModel != int64(gosnmp.UserSecurityModel) {
		return h, nil
	}
	sr := &berReader{b: msg[:secStart+len(sec)], off: secStart}
	if _, err := sr.enter(tagSequence); err != nil {
		return nil, err
	}
	if h.engineID, _, err = sr.octets(); err != nil {
		return nil, err
	}
	if h.boots, err = sr.int(); err != nil {
		return nil, err
	}
	if h.time, err = sr.int(); err != nil {
		return nil, err
	}
	if h.user, _, err = sr.octets(); err != nil {
		return nil, err
	}
	auth, authOff, err := sr.octets()
	if err != nil {
		return nil, err
	}
	h.authOff, h.authLen = authOff, len(auth)
	if h.privParams, _, err = sr.octets(); err != nil {
		return nil, err
	}
	return h, nil
}

// v3Response is everything needed to encode a v3 answer.
type v3Response struct {
	msgID   int64
	flags   byte // security level bits only
	user    []byte
	keys    *userKeys // nil for noAuthNoPriv reports to unknown users
	boots   uint32
	time    uint32
	maxSize int
}

// encodeV3 builds a complete v3 message around an encoded PDU:
// scopedPDU = SEQUENCE { contextEngineID, contextName, pdu }, encrypted
// when the privacy flag is set, then authenticated when the auth flag is.
func (d *Device) encodeV3(r v3Response, contextName []byte, pdu []byte) ([]byte, error) {
	scoped := make([]byte, 0, len(pdu)+64)
	inner := appendTLV(nil, tagOctetString, d.cfg.EngineID)
	inner = appendTLV(inner, tagOctetString, contextName)
	scoped = appendTLVHeader(scoped, tagSequence, len(inner)+len(pdu))
	scoped = append(append(scoped, inner...), pdu...)

	var privParams []byte
	if r.flags&byte(gosnmp.AuthPriv) == byte(gosnmp.AuthPriv) {
		salt := d.nextSalt()
		var enc []byte
		var err error
		enc, privParams, err = encryptScoped(r.keys.sp, r.boots, r.time, salt, scoped)
		if err != nil {
			return nil, err
		}
		scoped = appendTLV(nil, tagOctetString, enc)
	}
	authLen := 0
	if r.flags&byte(gosnmp.AuthNoPriv) != 0 {
		authLen = r.keys.authLen
	}
	usm := appendTLV(nil, tagOctetString, d.cfg.EngineID)
	usm = appendUint(usm, tagInteger, uint64(r.boots))
	usm = appendUint(usm, tagInteger, uint64(r.time))
	usm = appendTLV(usm, tagOctetString, r.user)
	usm = appendTLVHeader(usm, tagOctetString, authLen)
	authPos := len(usm)
	usm = append(usm, make([]byte, authLen)...)
	usm = appendTLV(usm, tagOctetString, privParams)
	usmSeq := appendTLVHeader(nil, tagSequence, len(usm))
	authPos += len(usmSeq)
	usmSeq = append(usmSeq, usm...)

	hdr := appendInt(nil, tagInteger, r.msgID)
	hdr = appendInt(hdr, tagInteger, int64(d.cfg.MaxMsgSize))
	hdr = appendTLV(hdr, tagOctetString, []byte{r.flags})
	hdr = appendInt(hdr, tagInteger, int64(gosnmp.UserSecurityModel))

	body := appendInt(nil, tagInteger, 3)
	body = appendTLV(body, tagSequence, hdr)
	body = appendTLVHeader(body, tagOctetString, len(usmSeq))
	authPos += len(body)
	body = append(body, usmSeq...)
	body = append(body, scoped...)
	msg := appendTLVHeader(make([]byte, 0, len(body)+4), tagSequence, len(body))
	authPos += len(msg)
	msg = append(msg, body...)
	if authLen > 0 {
		copy(msg[authPos:authPos+authLen], r.keys.mac(msg))
	}
	return msg, nil
}

func (d *Device) nextSalt() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.salt++
	return d.salt
}

// encryptScoped encrypts a scoped PDU (RFC 3414 8.1.1 DES-CBC, RFC 3826
// AES-CFB128) and returns the ciphertext and msgPrivacyParameters.
func encryptScoped(sp *gosnmp.UsmSecurityParameters, boots, etime uint32, salt uint64, plain []byte) ([]byte, []byte, error) {
	priv := make([]byte, 8)
	switch sp.PrivacyProtocol {
	case gosnmp.DES:
		binary.BigEndian.PutUint32(priv, boots)
		binary.BigEndian.PutUint32(priv[4:], uint32(salt))
		if len(sp.PrivacyKey) < 16 {
			return nil, nil, errors.New("DES key too short")
		}
		block, err := des.NewCipher(sp.PrivacyKey[:8])
		if err != nil {
			return nil, nil, err
		}
		iv := make([]byte, 8)
		for i := range iv {
			iv[i] = sp.PrivacyKey[8+i] ^ priv[i]
		}
		padded := append(append([]byte(nil), plain...), make([]byte, (8-len(plain)%8)%8)...)
		out := make([]byte, len(padded))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, padded)
		return out, priv, nil
	default:
		binary.BigEndian.PutUint64(priv, salt)
		block, err := aes.NewCipher(sp.PrivacyKey)
		if err != nil {
			return nil, nil, err
		}
		iv := make([]byte, 16)
		binary.BigEndian.PutUint32(iv, boots)
		binary.BigEndian.PutUint32(iv[4:], etime)
		copy(iv[8:], priv)
		out := make([]byte, len(plain))
		//lint:ignore SA1019 RFC 3826 (SNMPv3 USM AES) mandates CFB-128
		cipher.NewCFBEncrypter(block, iv).XORKeyStream(out, plain)
		return out, priv, nil
	}
}

// checkDigest verifies the message's HMAC (msg is modified: the MAC field
// is zeroed, as the digest is computed over).
func (k *userKeys) checkDigest(msg []byte, h *v3Header) bool {
	if h.authLen != k.authLen {
		return false
	}
	got := append([]byte(nil), msg[h.authOff:h.authOff+h.authLen]...)
	clear(msg[h.authOff : h.authOff+h.authLen])
	want := k.mac(msg)
	copy(msg[h.authOff:], got) // restore for gosnmp's decoder
	return subtle.ConstantTimeCompare(got, want) == 1
}
