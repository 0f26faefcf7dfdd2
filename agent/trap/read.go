package trap

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// readBatch is how many datagrams one read takes (recvmmsg(2) on Linux;
// one at a time elsewhere). With 64 KiB buffers (the largest datagram),
// the reader holds readBatch * 64 KiB.
const readBatch = 16

// batchReader reads datagrams several at a time: under a storm one
// system call brings up to readBatch traps instead of one.
type batchReader struct {
	read4 *ipv4.PacketConn
	read6 *ipv6.PacketConn
	msgs  []ipv4.Message // ipv4.Message and ipv6.Message are both socket.Message
}

func newBatchReader(c *net.UDPConn) *batchReader {
	r := &batchReader{msgs: make([]ipv4.Message, readBatch)}
	for i := range r.msgs {
		r.msgs[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	if ua, ok := c.LocalAddr().(*net.UDPAddr); ok && ua.IP.To4() != nil {
		r.read4 = ipv4.NewPacketConn(c)
	} else {
		r.read6 = ipv6.NewPacketConn(c)
	}
	return r
}

// read blocks until at least one datagram arrives and returns how many
// were read.
func (r *batchReader) read() (int, error) {
	if r.read4 != nil {
		return r.read4.ReadBatch(r.msgs, 0)
	}
	return r.read6.ReadBatch(r.msgs, 0)
}

// message returns datagram i of the last read. The bytes are valid until
// the next read.
func (r *batchReader) message(i int) ([]byte, netip.AddrPort) {
	m := &r.msgs[i]
	var src netip.AddrPort
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		src = ua.AddrPort()
	}
	return m.Buffers[0][:m.N], src
}
