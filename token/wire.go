package token

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idbridge/idbridge/internal/jwt"

	"github.com/idbridge/idbridge/internal/backoff"
	"github.com/idbridge/idbridge/internal/safeurl"
)

// maxBody caps what is read from the IdP: a token response is a few KB.
const maxBody = 1 << 20

// maxErrorCodes caps Entra's error_codes kept in an *Error (and printed by
// its Error method); Entra sends one or two.
const maxErrorCodes = 8

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// requester posts forms to one client's token endpoint.
type requester struct {
	client Client
	hc     *http.Client
	o      *config
}

func newRequester(c Client, o *config) (*requester, error) {
	if err := c.validate(o); err != nil {
		return nil, err
	}
	return &requester{client: c, hc: noRedirects(o.HTTPClient), o: o}, nil
}

// noRedirects returns a copy of hc that never follows redirects: a 307 from
// a token endpoint would otherwise resend the form, with its secrets, to
// wherever the Location header points.
func noRedirects(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// token sends a token request with form (which it may modify) and parses
// the answer. secrets are the grant's own secrets (refresh token, code,
// subject token); they and the client's are scrubbed from any error.
func (r *requester) token(ctx context.Context, form url.Values, secrets ...string) (*Token, error) {
	for k, vs := range r.o.Params {
		if _, set := form[k]; !set {
			form[k] = vs
		}
	}
	h := http.Header{}
	if r.client.Auth != nil {
		used, err := r.client.Auth.authenticate(ctx, &r.client, form, h)
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, used...)
	} else {
		form.Set("client_id", r.client.ID)
	}
	// expires_in counts from when the IdP issued the token, which is after
	// the request left: starting the clock here, not at the answer, keeps
	// a slow network or a starved goroutine from stretching the token's
	// life past what the issuer granted.
	sent := r.o.Now()
	body, status, hdr, err := r.post(ctx, r.client.TokenURL, form, h)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, parseError(body, status, hdr, r.o.Now(), secrets)
	}
	return parseToken(body, hdr, sent)
}

// post sends form to endpoint and returns the capped body.
func (r *requester) post(ctx context.Context, endpoint string, form url.Values, h http.Header) ([]byte, int, http.Header, error) {
	return postForm(ctx, r.hc, r.o.Timeout, endpoint, "token endpoint", maxBody, form, h)
}

// postForm POSTs form to endpoint with headers h, bounded by timeout, and
// returns the body capped at limit bytes. what names the endpoint in errors;
// the URL itself never appears in them.
func postForm(ctx context.Context, hc *http.Client, timeout time.Duration, endpoint, what string, limit int, form url.Values, h http.Header) ([]byte, int, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: building %s request: %w", errInvalidOptions, what, safeurl.Error(err))
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, nil, unavailable(what+" request failed", safeurl.Error(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, 0, nil, unavailable("reading "+what+" response", err)
	}
	if len(body) > limit {
		return nil, 0, nil, fmt.Errorf("%w: %s response larger than %d bytes", ErrIdPUnavailable, what, limit)
	}
	return body, resp.StatusCode, resp.Header, nil
}

// seconds is a JSON number of seconds that some servers (Entra v1) send as
// a string.
type seconds int64

func (s *seconds) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		b = []byte(str)
	}
	n, err := strconv.ParseFloat(string(b), 64)
	if err != nil || n < 0 || n > 1<<40 {
		return fmt.Errorf("invalid seconds %q", b)
	}
	*s = seconds(n)
	return nil
}

func (s seconds) after(now time.Time) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(s) * time.Second)
}

type tokenResponse struct {
	AccessToken     string  `json:"access_token"`
	TokenType       string  `json:"token_type"`
	RefreshToken    string  `json:"refresh_token"`
	IDToken         string  `json:"id_token"`
	ExpiresIn       seconds `json:"expires_in"`
	RefreshIn       seconds `json:"refresh_in"`
	ExtExpiresIn    seconds `json:"ext_expires_in"`
	Scope           string  `json:"scope"`
	IssuedTokenType string  `json:"issued_token_type"`
}

// parseToken reads a successful token response: JSON per RFC 6749, or the
// form encoding some older servers still send. sent is when the request
// was sent; the relative lifetimes (expires_in, refresh_in, ext_expires_in)
// count from it.
func parseToken(body []byte, hdr http.Header, sent time.Time) (*Token, error) {
	var tr tokenResponse
	ct, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" || ct == "text/plain" {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("%w: token response is not form-encoded", ErrIdPUnavailable)
		}
		tr.AccessToken, tr.TokenType = v.Get("access_token"), v.Get("token_type")
		tr.RefreshToken, tr.IDToken, tr.Scope = v.Get("refresh_token"), v.Get("id_token"), v.Get("scope")
		tr.IssuedTokenType = v.Get("issued_token_type")
		for _, f := range []struct {
			name string
			dst  *seconds
		}{{"expires_in", &tr.ExpiresIn}, {"refresh_in", &tr.RefreshIn}, {"ext_expires_in", &tr.ExtExpiresIn}} {
			if s := v.Get(f.name); s != "" {
				if err := f.dst.UnmarshalJSON([]byte(s)); err != nil {
					return nil, fmt.Errorf("%w: token response has invalid %s", ErrIdPUnavailable, f.name)
				}
			}
		}
	} else if err := json.Unmarshal(body, &tr); err != nil {
		// The decoder's message may quote the body; keep only its kind.
		return nil, fmt.Errorf("%w: token response is not valid JSON", ErrIdPUnavailable)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("%w: token response has no access_token", ErrIdPUnavailable)
	}
	t := &Token{
		AccessToken:     tr.AccessToken,
		TokenType:       tr.TokenType,
		RefreshToken:    tr.RefreshToken,
		IDToken:         tr.IDToken,
		Expiry:          tr.ExpiresIn.after(sent),
		RefreshAt:       tr.RefreshIn.after(sent),
		ExtExpiry:       tr.ExtExpiresIn.after(sent),
		IssuedTokenType: tr.IssuedTokenType,
	}
	if tr.Scope != "" {
		t.Scopes = strings.Fields(tr.Scope)
	}
	if t.Expiry.IsZero() {
		// expires_in is only RECOMMENDED; a JWT access token still says.
		if exp, ok := jwtExpiry(tr.AccessToken); ok {
			t.Expiry = exp
		}
	}
	return t, nil
}

type errorResponse struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	URI           string `json:"error_uri"`
	ErrorCodes    []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	Claims        string `json:"claims"`
}

// parseError turns a non-200 response into an *Error. It never fails: an
// unparsable body still yields the status and Retry-After.
func parseError(body []byte, status int, hdr http.Header, now time.Time, secrets []string) *Error {
	var er errorResponse
	if json.Unmarshal(body, &er) != nil {
		er = errorResponse{}
	}
	if len(er.ErrorCodes) > maxErrorCodes {
		er.ErrorCodes = er.ErrorCodes[:maxErrorCodes]
	}
	e := &Error{
		Code:          scrub(er.Error, secrets),
		Message:       scrub(er.Description, secrets),
		URI:           scrub(er.URI, secrets),
		ErrorCodes:    er.ErrorCodes,
		TraceID:       scrub(er.TraceID, secrets),
		CorrelationID: scrub(er.CorrelationID, secrets),
		Claims:        er.Claims,
		Status:        status,
		RetryAfter:    backoff.RetryAfter(hdr.Get("Retry-After"), now),
	}
	if len(e.Code) > 64 {
		e.Code = e.Code[:64]
	}
	e.Err = classify(e.Code, status)
	return e
}

// jwtExpiry reads the exp claim of a JWT without verifying it. It is used
// only to time refreshes, never to trust anything.
func jwtExpiry(tok string) (time.Time, bool) { return jwtTime(tok, "exp") }

// jwtTime reads a NumericDate claim (exp, iat) of a JWT without verifying
// it, for timing only.
func jwtTime(tok, claim string) (time.Time, bool) {
	if len(tok) > 64<<10 {
		return time.Time{}, false
	}
	c, err := jwt.Parse(tok) // the one JWT reader
	if err != nil {
		return time.Time{}, false
	}
	t := c.ExpiresAt
	if claim == "iat" {
		t = c.IssuedAt
	}
	if t.Unix() <= 0 || t.Unix() > 1<<40 {
		return time.Time{}, false
	}
	return t, true
}

// await runs fn in its own goroutine and returns its result, or ctx's error
// as soon as ctx ends. Code outside this package (an assertion callback, a
// KMS-backed signer, a Source) may ignore its context; nobody should wait
// on it past their own deadline, or past Close. An abandoned fn finishes in
// the background and its result is dropped.
func await[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		select {
		case r := <-ch: // finished at the same moment: keep the result
			return r.v, r.err
		default:
		}
		var zero T
		return zero, ctx.Err()
	}
}
