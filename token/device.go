package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idbridge/idbridge/internal/audit"
)

// Device runs the device authorization grant (RFC 8628) for command-line
// tools and devices without a browser: [Device.Start] obtains a user code
// to show, [Device.Poll] waits until the user has approved it elsewhere.
// Polling honours the server's interval and slow_down.
//
// A Device is safe for concurrent use by multiple goroutines.
type Device struct {
	r         *requester
	deviceURL string
	scopes    string
	// after waits between polls; tests replace it to avoid real waits.
	after func(time.Duration) <-chan time.Time
	log   *audit.Logger
}

// NewDevice returns the flow for client c (usually a public client) with
// the IdP's device authorization endpoint.
func NewDevice(c Client, deviceAuthURL string, scopes []string, optFns ...func(*Options)) (*Device, error) {
	o, r, err := resolveClient(c, optFns)
	if err != nil {
		return nil, err
	}
	if err := checkEndpoint("device authorization endpoint", deviceAuthURL, o); err != nil {
		return nil, err
	}
	return &Device{r: r, deviceURL: deviceAuthURL, scopes: strings.Join(scopes, " "), after: time.After, log: audit.New(o.Audit)}, nil
}

// DeviceCode is a device authorization in progress: show UserCode and
// VerificationURI (or Message) to the user, then call [Device.Poll].
type DeviceCode struct {
	// UserCode is what the user types at VerificationURI.
	UserCode string
	// VerificationURI is where the user goes to approve.
	VerificationURI string
	// VerificationURIComplete includes the user code, for a QR code.
	VerificationURIComplete string
	// Message is the IdP's ready-made instruction (Entra), if any.
	Message string
	// Expiry is when the codes stop working.
	Expiry time.Time
	// Interval is the minimum time between polls.
	Interval time.Duration
	// DeviceCode is the code the client polls with.
	DeviceCode Secret
}

// Format prints dc with the device code redacted, under every verb.
func (dc DeviceCode) Format(f fmt.State, verb rune) {
	type DeviceCode struct {
		UserCode, VerificationURI, VerificationURIComplete, Message string
		Expiry                                                      time.Time
		Interval                                                    time.Duration
		DeviceCode                                                  Secret
	}
	formatView(f, verb, DeviceCode(dc)) // the local type has no Format: fmt prints its fields
}

type deviceResponse struct {
	DeviceCode              string  `json:"device_code"`
	UserCode                string  `json:"user_code"`
	VerificationURI         string  `json:"verification_uri"`
	VerificationURL         string  `json:"verification_url"` // Google's spelling
	VerificationURIComplete string  `json:"verification_uri_complete"`
	ExpiresIn               seconds `json:"expires_in"`
	Interval                seconds `json:"interval"`
	Message                 string  `json:"message"`
}

// defaultInterval is RFC 8628's default polling interval.
const defaultInterval = 5 * time.Second

// Start asks the IdP for a device code and a user code.
func (d *Device) Start(ctx context.Context) (*DeviceCode, error) {
	form := url.Values{}
	if d.scopes != "" {
		form.Set("scope", d.scopes)
	}
	h := http.Header{}
	var secrets []string
	if d.r.client.Auth != nil {
		used, err := d.r.client.Auth.authenticate(ctx, &d.r.client, form, h)
		if err != nil {
			return nil, err
		}
		secrets = used
	} else {
		form.Set("client_id", d.r.client.ID)
	}
	body, status, hdr, err := d.r.post(ctx, d.deviceURL, form, h)
	if err != nil {
		return nil, err
	}
	now := d.r.o.Now()
	if status != http.StatusOK {
		return nil, parseError(body, status, hdr, now, secrets)
	}
	var dr deviceResponse
	if err := json.Unmarshal(body, &dr); err != nil {
		return nil, fmt.Errorf("%w: device authorization response is not valid JSON", ErrIdPUnavailable)
	}
	if dr.VerificationURI == "" {
		dr.VerificationURI = dr.VerificationURL
	}
	if dr.DeviceCode == "" || dr.UserCode == "" || dr.VerificationURI == "" {
		return nil, fmt.Errorf("%w: device authorization response lacks device_code, user_code or verification_uri", ErrIdPUnavailable)
	}
	dc := &DeviceCode{
		UserCode:                dr.UserCode,
		VerificationURI:         dr.VerificationURI,
		VerificationURIComplete: dr.VerificationURIComplete,
		Message:                 dr.Message,
		Expiry:                  dr.ExpiresIn.after(now),
		Interval:                time.Duration(dr.Interval) * time.Second,
		DeviceCode:              Secret(dr.DeviceCode),
	}
	if dc.Interval <= 0 {
		dc.Interval = defaultInterval
	}
	if dc.Expiry.IsZero() {
		dc.Expiry = now.Add(15 * time.Minute)
	}
	return dc, nil
}

// Poll waits for the user to approve dc and returns the tokens. It polls
// every Interval, adds five seconds on each slow_down as RFC 8628 demands,
// rides out temporary IdP failures (waiting at least as long as a
// Retry-After), and stops when ctx ends or the code expires (an error
// matching both [ErrSignInRequired] and [ErrExpired]). A user who declines
// gives [ErrRejected].
func (d *Device) Poll(ctx context.Context, dc *DeviceCode) (*Token, error) {
	if dc == nil || dc.DeviceCode == "" {
		return nil, fmt.Errorf("%w: no device code", errInvalidOptions)
	}
	start := time.Now()
	interval := max(dc.Interval, time.Second)
	var wait time.Duration // longer than interval once, for a Retry-After
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("token: device authorization: %w", ctx.Err())
		case <-d.after(max(interval, wait)):
		}
		wait = 0
		if !d.r.o.Now().Before(dc.Expiry) {
			return nil, fmt.Errorf("%w: device code expired before the user approved it (%w)", ErrExpired, ErrSignInRequired)
		}
		form := url.Values{
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {dc.DeviceCode.Reveal()},
		}
		tok, err := d.r.token(ctx, form, dc.DeviceCode.Reveal())
		if err == nil {
			issued(ctx, d.log, tok, time.Since(start))
			return tok, nil
		}
		var oe *Error
		switch {
		case errors.As(err, &oe) && oe.Code == codeAuthorizationPending:
		case errors.As(err, &oe) && oe.Code == codeSlowDown:
			interval += 5 * time.Second
		case errors.Is(err, ErrIdPUnavailable) && ctx.Err() == nil:
			// Keep polling through a brief outage, a little slower (RFC
			// 8628 section 3.5), and never sooner than the server's
			// Retry-After; the next poll goes back to the interval.
			interval = min(interval*2, time.Minute)
			if errors.As(err, &oe) && oe.RetryAfter > interval {
				wait = oe.RetryAfter
			}
		default:
			return nil, err
		}
	}
}
