package kafkatest

import (
	"context"
	"errors"
	"net"
	"sync"
)

// VanishingDialer dials Kafka for a client (kgo.Dialer(d.Dial)) until
// Vanish, which closes every connection it made and refuses new ones: the
// broker sees the client gone as after kill -9, without a LeaveGroup or a
// last commit.
type VanishingDialer struct {
	mu    sync.Mutex
	gone  bool
	conns []net.Conn
}

// Dial dials host unless the dialer has vanished.
func (d *VanishingDialer) Dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone {
		return nil, errors.New("kafkatest: the client is gone")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

// Vanish closes every connection the dialer made and refuses new ones.
func (d *VanishingDialer) Vanish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gone = true
	for _, c := range d.conns {
		c.Close()
	}
}
