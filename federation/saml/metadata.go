package saml

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/internal/loopback"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/internal/reason"
)

// Metadata defaults and bounds applied by [NewRemoteMetadata].
const (
	// defaultMetadataRefresh is how often remote metadata is fetched again.
	// Entra announces a new signing certificate in its metadata weeks before
	// it signs with it, so a daily fetch follows a rollover.
	defaultMetadataRefresh = 24 * time.Hour
	// defaultMetadataRetry is the wait after a failed fetch, and the
	// shortest interval between fetches caused by an unknown certificate.
	defaultMetadataRetry   = 30 * time.Second
	defaultMetadataTimeout = 10 * time.Second
	// maxMetadataBytes caps a metadata document (Entra's is about 20 KiB).
	maxMetadataBytes = 1 << 20
)

// Metadata is an IdP's SAML federation metadata: its entityID, signing
// certificates and sign-on endpoints. Static metadata comes from
// [ParseMetadata]; remote metadata from [NewRemoteMetadata] is refreshed in
// the background and on an unknown signing certificate, and a failed fetch
// keeps the last good copy. Metadata is safe for concurrent use by
// multiple goroutines.
type Metadata struct {
	cur atomic.Pointer[crewjam.EntityDescriptor]

	// Remote only.
	url     string
	o       MetadataOptions
	log     *audit.Logger
	mu      sync.Mutex // guards last, closed
	last    time.Time  // when the last fetch caused by an unknown certificate started
	closed  bool
	done    chan struct{}
	stopped chan struct{}
}

// MetadataOptions configure [NewRemoteMetadata].
type MetadataOptions struct {
	// HTTPClient fetches the document; nil means http.DefaultClient. Each
	// fetch is bounded by Timeout.
	HTTPClient *http.Client
	// Refresh is the fetch period; zero or negative means 24 hours.
	Refresh time.Duration
	// Retry is the wait after a failure and the rate limit of fetches
	// caused by unknown certificates; zero or negative means 30 seconds.
	Retry time.Duration
	// Timeout bounds one fetch; zero or negative means 10 seconds.
	Timeout time.Duration
	// InsecureAllowHTTP allows a plain-http URL off loopback. Whoever is on
	// the path could then swap the signing certificate and forge every
	// sign-in; set it only behind a transport that authenticates the IdP.
	InsecureAllowHTTP bool
	// Now is the clock for the rate limit; nil means time.Now.
	Now func() time.Time
	// Audit receives jwks.refreshed and jwks.refresh_failed events (the
	// SDK's key-material events) with the metadata URL as route.
	Audit slog.Handler
}

// ParseMetadata reads a federation metadata document (an EntityDescriptor,
// or an EntitiesDescriptor holding one IdP), such as Entra's
// https://login.microsoftonline.com/{tenant}/federationmetadata/2007-06/federationmetadata.xml.
// It must list an IDPSSODescriptor with at least one signing certificate.
func ParseMetadata(doc []byte) (*Metadata, error) {
	ed, err := parseMetadata(doc)
	if err != nil {
		return nil, err
	}
	m := &Metadata{}
	m.cur.Store(ed)
	return m, nil
}

func parseMetadata(doc []byte) (*crewjam.EntityDescriptor, error) {
	if len(doc) > maxMetadataBytes {
		return nil, fail(ErrTooLarge, "metadata of %d bytes exceeds %d", len(doc), maxMetadataBytes)
	}
	ed, err := samlsp.ParseMetadata(doc)
	if err != nil {
		return nil, fail(ErrMalformed, "metadata: %s", cut(err.Error(), 200))
	}
	if ed.EntityID == "" {
		return nil, fail(ErrMalformed, "metadata has no entityID")
	}
	n := 0
	for _, idp := range ed.IDPSSODescriptors {
		for _, kd := range idp.KeyDescriptors {
			if (kd.Use == "" || kd.Use == "signing") && len(kd.KeyInfo.X509Data.X509Certificates) > 0 {
				n++
			}
		}
	}
	if n == 0 {
		return nil, fail(ErrMalformed, "metadata lists no IDPSSODescriptor signing certificate")
	}
	return ed, nil
}

// NewRemoteMetadata fetches the metadata at rawURL (https, or http on
// loopback), then keeps it fresh in the background until Close. It fails
// when the first fetch fails: a service that cannot check signatures must
// not start believing it can.
func NewRemoteMetadata(ctx context.Context, rawURL string, opts ...func(*MetadataOptions)) (*Metadata, error) {
	o := option.New(opts)
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, badOptions("metadata URL must be an absolute http(s) URL")
	}
	if u.Scheme == "http" && !loopback.URL(u) && !o.InsecureAllowHTTP {
		return nil, badOptions("metadata URL must use https off loopback")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	option.Positive(&o.Refresh, defaultMetadataRefresh)
	option.Positive(&o.Retry, defaultMetadataRetry)
	option.Positive(&o.Timeout, defaultMetadataTimeout)
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Metadata{url: rawURL, o: o, log: audit.New(o.Audit),
		done: make(chan struct{}), stopped: make(chan struct{})}
	if err := m.fetch(ctx); err != nil {
		return nil, err
	}
	go m.loop()
	return m, nil
}

// EntityID returns the IdP's entityID (Entra: https://sts.windows.net/{tenant}/).
func (m *Metadata) EntityID() string { return m.cur.Load().EntityID }

// Descriptor returns the current metadata, shared: treat it as read-only.
func (m *Metadata) Descriptor() *crewjam.EntityDescriptor { return m.cur.Load() }

// Refresh fetches remote metadata now, keeping the last good copy on
// failure. Static metadata returns nil.
func (m *Metadata) Refresh(ctx context.Context) error {
	if m.url == "" {
		return nil
	}
	return m.fetch(ctx)
}

// unknownCert asks the background loop for a fetch, at most once per Retry,
// because a certificate the metadata does not list may be a rollover.
// It reports whether a fetch was started, and waits for it up to ctx.
func (m *Metadata) unknownCert(ctx context.Context) bool {
	if m.url == "" {
		return false
	}
	m.mu.Lock()
	now := m.o.Now()
	due := !m.closed && (m.last.IsZero() || now.Sub(m.last) >= m.o.Retry)
	if due {
		m.last = now
	}
	m.mu.Unlock()
	if !due {
		return false
	}
	return m.fetch(ctx) == nil
}

// Close stops the background refresh and waits for it. It is idempotent.
func (m *Metadata) Close() error {
	if m.url == "" {
		return nil
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	close(m.done)
	<-m.stopped
	return nil
}

func (m *Metadata) loop() {
	defer close(m.stopped)
	wait := m.o.Refresh
	for {
		t := time.NewTimer(wait)
		select {
		case <-m.done:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-m.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := m.fetch(ctx)
		cancel()
		wait = m.o.Refresh
		if err != nil {
			wait = m.o.Retry
		}
	}
}

// fetch downloads, parses and installs the metadata; on failure the last
// good copy stays.
func (m *Metadata) fetch(ctx context.Context) (err error) {
	start := time.Now()
	defer func() {
		ev := audit.Event{Name: audit.JWKSRefreshed, Outcome: audit.Success, Issuer: "",
			Route: redact(m.url), Duration: time.Since(start)}
		if ed := m.cur.Load(); ed != nil {
			ev.Issuer = ed.EntityID
		}
		if err != nil {
			ev.Name, ev.Outcome, ev.Reason = audit.JWKSRefreshFailed, audit.Failure, reason.Of(err)
		}
		m.log.Emit(ctx, ev)
	}()
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return fail(ErrIdPUnavailable, "metadata request: %s", cut(err.Error(), 100))
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := m.o.HTTPClient.Do(req)
	if err != nil {
		return fail(ErrIdPUnavailable, "fetching metadata from %s failed", redact(m.url))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(ErrIdPUnavailable, "metadata from %s answered HTTP %d", redact(m.url), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return fail(ErrIdPUnavailable, "reading metadata from %s failed", redact(m.url))
	}
	ed, err := parseMetadata(body)
	if err != nil {
		return err
	}
	if prev := m.cur.Load(); prev != nil && prev.EntityID != ed.EntityID {
		return fail(ErrIssuer, "metadata entityID changed from %q to %q; refusing it", prev.EntityID, cut(ed.EntityID, 100))
	}
	m.cur.Store(ed)
	return nil
}

// redact prints a URL without userinfo, query or fragment.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
