package ldap

import (
	"context"
	"errors"
	"fmt"
	"net"

	goldap "github.com/go-ldap/ldap/v3"
)

// dial opens a connection, upgrades it to TLS when configured, and sets
// the per-operation timeout.
func (d *Directory) dial(ctx context.Context) (*goldap.Conn, error) {
	dialer := &net.Dialer{Timeout: d.opts.DialTimeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := goldap.DialURL(d.url, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(d.tls))
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %w", ErrUnavailable, d.url, err)
	}
	conn.SetTimeout(d.opts.Timeout)
	if d.opts.StartTLS {
		if err := d.guard(ctx, conn, func() error { return conn.StartTLS(d.tls) }); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: StartTLS: %w", ErrUnavailable, err)
		}
	}
	return conn, nil
}

// guard runs op and closes conn if ctx ends first, which makes the
// operation fail at once instead of waiting out the timeout.
func (d *Directory) guard(ctx context.Context, conn *goldap.Conn, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err := op()
	if !stop() {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// withConn runs fn on a pooled connection bound as the service account.
func (d *Directory) withConn(ctx context.Context, fn func(*goldap.Conn) error) error {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for a connection: %w", ErrUnavailable, ctx.Err())
	case <-d.done:
		return errClosed
	}
	defer func() { <-d.sem }()

	for attempt := 0; ; attempt++ {
		conn, fresh, err := d.get(ctx)
		if err != nil {
			return err
		}
		err = d.guard(ctx, conn, func() error { return fn(conn) })
		if err == nil || !isConnError(err) {
			d.put(conn)
			return err
		}
		conn.Close()
		// A pooled connection may have died while idle (server restart):
		// retry once on a fresh one.
		if fresh || attempt > 0 || ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
}

func (d *Directory) get(ctx context.Context) (*goldap.Conn, bool, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, false, errClosed
	}
	for len(d.idle) > 0 {
		c := d.idle[len(d.idle)-1]
		d.idle = d.idle[:len(d.idle)-1]
		if !c.IsClosing() {
			d.mu.Unlock()
			return c, false, nil
		}
		c.Close()
	}
	d.mu.Unlock()
	conn, err := d.dial(ctx)
	if err != nil {
		return nil, true, err
	}
	if err := d.guard(ctx, conn, func() error { return conn.Bind(d.opts.BindDN, d.opts.BindPassword) }); err != nil {
		conn.Close()
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			return nil, true, fmt.Errorf("%w: service account bind refused (check BindDN and BindPassword)", ErrUnavailable)
		}
		return nil, true, fmt.Errorf("%w: service account bind: %w", ErrUnavailable, err)
	}
	return conn, true, nil
}

func (d *Directory) put(c *goldap.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || c.IsClosing() {
		c.Close()
		return
	}
	d.idle = append(d.idle, c)
}

// isConnError reports errors that mean the connection is unusable, as
// opposed to an LDAP result such as "no such object".
func isConnError(err error) bool {
	if errors.Is(err, errTooManyGroups) {
		return false
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == goldap.ErrorNetwork || le.ResultCode == goldap.LDAPResultServerDown ||
			le.ResultCode == goldap.LDAPResultUnavailable || le.ResultCode == goldap.LDAPResultBusy
	}
	return true
}
