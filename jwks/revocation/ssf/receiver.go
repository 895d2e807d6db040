package ssf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/option"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/revocation"
)

// Revoker is what the receiver needs of a revocation list:
// *revocation.List and the Redis-backed list are ones. Revoke must refuse a
// malformed entry with an error wrapping revocation.ErrInvalidEntry.
type Revoker interface {
	Revoke(ctx context.Context, e revocation.Entry) error
}

// Defaults of [Options]; the fields state them.
const (
	defaultMaxAge      = time.Hour // how old a SET's iat may be
	defaultMaxBodySize = 64 << 10  // bytes; a SET is well under 4 KiB
	maxSeen            = 100_000   // jti values remembered for replay detection
)

// Options configure a [Receiver]. [NewReceiver] copies them.
type Options struct {
	// Issuer is the transmitter's issuer, the exact iss of its SETs.
	// Required.
	Issuer string
	// JWKSURL is the transmitter's JWKS (its SSF configuration's jwks_uri);
	// or set Keys. One of them is required.
	JWKSURL string
	// Keys verify the transmitter's SETs instead of JWKSURL.
	Keys jwks.KeySet
	// Audience is this receiver as the transmitter names it in aud (often
	// the push endpoint's URL). Required.
	Audience string
	// Algorithms is the alg allow-list; empty means RS256 and ES256.
	Algorithms []string
	// MaxAge bounds how old a SET's iat may be (transmitters retry
	// deliveries for a while). Zero means 1 hour.
	MaxAge time.Duration
	// MaxBodySize caps the request body. Zero means 64 KiB.
	MaxBodySize int64
	// EntraTenantID, when set, makes opaque user identifiers Microsoft
	// Entra object IDs of this tenant (what a governance tool sends for
	// Entra users). A complex subject whose tenant is another one is
	// refused (400), so a transmitter cannot revoke users of a tenant it
	// does not manage.
	EntraTenantID string
	// SubjectIssuers are the issuers this receiver acts for: the only ones
	// an iss_sub subject may name, and those a revoked session (an opaque
	// sid) is scoped to, so a transmitter trusted for these issuers'
	// users cannot revoke another issuer's user or sessions. Empty means
	// the Microsoft Entra issuers of EntraTenantID (v2.0 and v1.0) when it
	// is set; with neither, iss_sub subjects and sessions are refused (400
	// invalid_request). Compared exactly, as iss is.
	SubjectIssuers []string
	// Resolve maps subjects the receiver cannot map alone (email, phone
	// number, account, opaque without EntraTenantID...) to entries, for
	// example by a directory lookup. Nil means such events are
	// acknowledged and logged, not acted on. An error answers 503, so the
	// transmitter retries.
	Resolve func(ctx context.Context, s Subject) ([]revocation.Entry, error)
	// Authenticate, when set, checks the transmitter's HTTP authentication
	// (RFC 8935 §2.1 leaves it to the deployment: a bearer token, mTLS)
	// before the body is read; an error answers 401 authentication_failed.
	Authenticate func(r *http.Request) error
	// HTTPClient fetches JWKSURL; nil means a default client.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one record per refused or unmapped SET, naming the
	// reason, never the SET. Nil means none.
	Logger *slog.Logger
}

// Receiver is an http.Handler for SSF push delivery (RFC 8935) that turns
// CAEP and RISC events into revocations. It is safe for concurrent use by
// multiple goroutines; call Close when done.
type Receiver struct {
	v        *jwks.Validator
	list     Revoker
	tenant   string
	issuers  []string // Options.SubjectIssuers or their default
	resolve  func(context.Context, Subject) ([]revocation.Entry, error)
	authn    func(*http.Request) error
	maxBody  int64
	keepSeen time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu   sync.Mutex
	seen map[string]time.Time // guarded by mu: iss+jti → when it may be forgotten
}

// NewReceiver returns a Receiver that revokes through list.
func NewReceiver(list Revoker, optFns ...func(*Options)) (*Receiver, error) {
	o := option.New(optFns)
	switch {
	case list == nil:
		return nil, fmt.Errorf("ssf: %w: nil revocation list", idbridge.ErrInvalidOptions)
	case o.Issuer == "":
		return nil, fmt.Errorf("ssf: %w: Options.Issuer is required", idbridge.ErrInvalidOptions)
	case o.Audience == "":
		return nil, fmt.Errorf("ssf: %w: Options.Audience is required", idbridge.ErrInvalidOptions)
	case (o.JWKSURL == "") == (o.Keys == nil):
		return nil, fmt.Errorf("ssf: %w: set exactly one of Options.JWKSURL and Options.Keys", idbridge.ErrInvalidOptions)
	case o.MaxAge < 0 || o.MaxBodySize < 0:
		return nil, fmt.Errorf("ssf: %w: negative MaxAge or MaxBodySize", idbridge.ErrInvalidOptions)
	}
	if len(o.Algorithms) == 0 {
		o.Algorithms = []string{"RS256", "ES256"}
	}
	o.SubjectIssuers = slices.Clone(o.SubjectIssuers)
	if len(o.SubjectIssuers) == 0 && o.EntraTenantID != "" {
		for _, is := range jwks.Entra(o.EntraTenantID, func(eo *jwks.EntraOptions) {
			eo.Versions = []string{jwks.EntraV2, jwks.EntraV1}
		}) {
			// A tenant that names no single tenant ("common", a domain)
			// yields a template or nothing: no default issuer, deny.
			if is.Issuer != "" && !strings.Contains(is.Issuer, "{") {
				o.SubjectIssuers = append(o.SubjectIssuers, is.Issuer)
			}
		}
	}
	for _, iss := range o.SubjectIssuers {
		if iss == "" {
			return nil, fmt.Errorf("ssf: %w: an empty issuer in Options.SubjectIssuers", idbridge.ErrInvalidOptions)
		}
	}
	if o.MaxAge == 0 {
		o.MaxAge = defaultMaxAge
	}
	if o.MaxBodySize == 0 {
		o.MaxBodySize = defaultMaxBodySize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := jwks.NewValidator(func(vo *jwks.Options) {
		vo.Issuers = []jwks.Issuer{{Issuer: o.Issuer, JWKSURL: o.JWKSURL, Keys: o.Keys}}
		vo.Audiences = []string{o.Audience}
		vo.Algorithms = o.Algorithms
		vo.Types = []string{"secevent+jwt"} // RFC 8417 §2.3: never an access or ID token
		vo.MaxAge = o.MaxAge                // SETs carry iat and no exp
		vo.MaxTokenSize = int(o.MaxBodySize)
		vo.Now = o.Now
		vo.HTTPClient = o.HTTPClient
	})
	if err != nil {
		return nil, fmt.Errorf("ssf: %w", err)
	}
	return &Receiver{
		v: v, list: list, tenant: o.EntraTenantID, issuers: o.SubjectIssuers, resolve: o.Resolve, authn: o.Authenticate,
		maxBody: o.MaxBodySize, keepSeen: o.MaxAge + jwks.MaxLeeway, now: o.Now, log: o.Logger,
		seen: map[string]time.Time{},
	}, nil
}

// Close stops the key set the receiver fetches. Idempotent.
func (r *Receiver) Close() error { return r.v.Close() }

// setError is an RFC 8935 §2.3 error answer.
type setError struct {
	status int
	Err    string `json:"err"`
	Desc   string `json:"description"`
}

func (e *setError) Error() string { return e.Err + ": " + e.Desc }

func badRequest(code, desc string) *setError {
	return &setError{status: http.StatusBadRequest, Err: code, Desc: desc}
}

// ServeHTTP receives one SET: 202 when it was valid (whether or not it
// revoked anything), 400 with {"err","description"} when not, 401 when
// Authenticate refuses, 503 when it could not be acted on now.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if e := r.receive(req); e != nil {
		r.log.Warn("ssf: SET refused", "err", e.Err, "description", e.Desc, "remote_addr", req.RemoteAddr)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if e.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		w.WriteHeader(e.status)
		_ = json.NewEncoder(w).Encode(e)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (r *Receiver) receive(req *http.Request) *setError {
	if r.authn != nil {
		if err := r.authn(req); err != nil {
			return &setError{status: http.StatusUnauthorized, Err: "authentication_failed", Desc: "the transmitter is not authenticated"}
		}
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/secevent+jwt" {
		return badRequest("invalid_request", "Content-Type must be application/secevent+jwt")
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, r.maxBody+1))
	if err != nil {
		return badRequest("invalid_request", "the body could not be read")
	}
	if int64(len(body)) > r.maxBody {
		return badRequest("invalid_request", "the SET is too large")
	}
	ctx := req.Context()
	c, err := r.v.Validate(ctx, strings.TrimSpace(string(body)))
	if err != nil {
		return validationError(err)
	}
	if c.ID == "" {
		return badRequest("invalid_request", "the SET has no jti")
	}
	evRaw, ok := c.Get("events")
	if !ok {
		return badRequest("invalid_request", "the SET has no events claim")
	}
	subID, _ := c.Get("sub_id")
	events, err := ParseEvents(evRaw, subID)
	if err != nil {
		return badRequest("invalid_request", err.Error())
	}
	// Map every event before revoking anything, so a SET with one bad
	// event revokes nothing.
	var entries []revocation.Entry
	for _, ev := range events {
		es, err := r.entries(ctx, ev, c.IssuedAt)
		if err != nil {
			var se *setError
			if errors.As(err, &se) {
				return se
			}
			return badRequest("invalid_request", err.Error())
		}
		entries = append(entries, es...)
	}
	seenKey := c.Issuer + "\x00" + c.ID
	if !r.remember(seenKey, c.IssuedAt) {
		return badRequest("invalid_request", "jti already received")
	}
	for _, e := range entries {
		if err := r.list.Revoke(ctx, e); err != nil {
			r.forget(seenKey) // let the transmitter's retry through
			if errors.Is(err, revocation.ErrInvalidEntry) {
				return badRequest("invalid_request", "a subject identifier is not acceptable")
			}
			return &setError{status: http.StatusServiceUnavailable, Err: "temporarily_unavailable", Desc: "the revocation could not be stored"}
		}
	}
	return nil
}

// validationError maps a jwks rejection to RFC 8935's error codes.
func validationError(err error) *setError {
	switch {
	case errors.Is(err, jwks.ErrIssuer):
		return badRequest("invalid_issuer", "the issuer is not the configured transmitter")
	case errors.Is(err, jwks.ErrAudience):
		return badRequest("invalid_audience", "the audience is not this receiver")
	case errors.Is(err, jwks.ErrSignature), errors.Is(err, jwks.ErrUnknownKey), errors.Is(err, jwks.ErrAlgorithm):
		return badRequest("invalid_key", "the SET is not signed by a key of the transmitter")
	case errors.Is(err, jwks.ErrUnavailable):
		return &setError{status: http.StatusServiceUnavailable, Err: "temporarily_unavailable", Desc: "the transmitter's keys could not be fetched"}
	case errors.Is(err, jwks.ErrType):
		return badRequest("invalid_request", "typ must be secevent+jwt")
	case errors.Is(err, jwks.ErrExpired), errors.Is(err, jwks.ErrIssuedInFuture), errors.Is(err, jwks.ErrNotYetValid):
		return badRequest("invalid_request", "iat is out of bounds")
	}
	return badRequest("invalid_request", "the body is not a valid SET")
}

// remember records key until the SET's iat is too old to be accepted
// again, and reports false when it was already there.
func (r *Receiver) remember(key string, iat time.Time) bool {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if until, ok := r.seen[key]; ok && now.Before(until) {
		return false
	}
	if len(r.seen) >= maxSeen {
		for k, until := range r.seen {
			if !now.Before(until) {
				delete(r.seen, k)
			}
		}
		if len(r.seen) >= maxSeen {
			return false // a flood of valid SETs; refusing is the safe side
		}
	}
	r.seen[key] = iat.Add(r.keepSeen)
	return true
}

func (r *Receiver) forget(key string) {
	r.mu.Lock()
	delete(r.seen, key)
	r.mu.Unlock()
}
