package testbackend

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go/wait"
)

// replyStrategy waits until the server behind a mapped port answers a
// one-line text-protocol request from the host, whatever the image logs.
type replyStrategy struct {
	port, request, prefix string
}

// forReply waits until a request sent to port gets a reply line starting
// with prefix, for example "PING\r\n" and "+PONG" for Redis.
func forReply(port, request, prefix string) wait.Strategy {
	return replyStrategy{port, request, prefix}
}

// WaitUntilReady implements [wait.Strategy].
func (s replyStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		st, err := target.State(ctx)
		if err != nil {
			return err
		}
		if !st.Running {
			return fmt.Errorf("container is %s (exit code %d)", st.Status, st.ExitCode)
		}
		if err = s.try(ctx, target); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no %q reply on %s: %w", s.prefix, s.port, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s replyStrategy) try(ctx context.Context, target wait.StrategyTarget) error {
	host, err := target.Host(ctx)
	if err != nil {
		return err
	}
	port, err := target.MappedPort(ctx, s.port)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port.Port()))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(s.request)); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, s.prefix) {
		return fmt.Errorf("reply %q", strings.TrimSpace(line))
	}
	return nil
}
