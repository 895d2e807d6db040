package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Error codes the login and device pages answer with, as JSON
// {"error": code}, so the headless helpers can map them back to sentinels.
const (
	codeInvalidCredentials = "invalid_credentials"
	codeUserDisabled       = "user_disabled"
	codeUnknownRequest     = "unknown_request"
)

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><title>idbridge test IdP</title></head><body>
<h1>{{.Title}}</h1>
<form method="post" action="{{.Action}}">
{{if .ID}}<input type="hidden" name="id" value="{{.ID}}">{{end}}
{{if .Device}}<label>Code <input name="user_code" value="{{.UserCode}}"></label><br>{{end}}
<label>Username <input name="username"></label><br>
<label>Password <input name="password" type="password"></label><br>
<button type="submit">Sign in</button>
</form></body></html>
`))

type pageData struct {
	Title, Action, ID, UserCode string
	Device                      bool
}

func writeCode(w http.ResponseWriter, err error) {
	status, code := http.StatusBadRequest, "invalid_request"
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		status, code = http.StatusUnauthorized, codeInvalidCredentials
	case errors.Is(err, ErrUserDisabled):
		status, code = http.StatusForbidden, codeUserDisabled
	case errors.Is(err, ErrUnknownRequest):
		status, code = http.StatusNotFound, codeUnknownRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// handleLogin shows a login form (GET) or authenticates an authorization
// request (POST id, username, password) and redirects back to zitadel.
func (p *Provider) handleLogin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pageTemplate.Execute(w, pageData{Title: "Sign in", Action: loginPath, ID: r.URL.Query().Get("id")})
	case http.MethodPost:
		id := r.PostFormValue("id")
		if err := p.store.completeLogin(id, r.PostFormValue("username"), r.PostFormValue("password")); err != nil {
			writeCode(w, err)
			return
		}
		http.Redirect(w, r, p.AuthURL()+"/callback?id="+url.QueryEscape(id), http.StatusFound)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// handleDeviceUser shows the device form (GET) or approves a device
// (POST user_code, username, password).
func (p *Provider) handleDeviceUser(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pageTemplate.Execute(w, pageData{Title: "Approve a device", Action: deviceUserPath, Device: true,
			UserCode: r.URL.Query().Get("user_code")})
	case http.MethodPost:
		if err := p.store.approveDevice(r.PostFormValue("user_code"), r.PostFormValue("username"), r.PostFormValue("password")); err != nil {
			writeCode(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"approved"}`)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// noRedirectClient returns redirects to the caller instead of following them.
func (p *Provider) noRedirectClient() *http.Client {
	c := p.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// responseError maps an unexpected answer to a sentinel. It reads the OAuth
// error code from a JSON body, never the body itself.
func responseError(step string, resp *http.Response) error {
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	switch body.Error {
	case codeInvalidCredentials:
		return ErrInvalidCredentials
	case codeUserDisabled:
		return ErrUserDisabled
	case codeUnknownRequest:
		return ErrUnknownRequest
	}
	if body.Error != "" {
		return fmt.Errorf("%w: %s: HTTP %d, error %q", ErrUnexpectedResponse, step, resp.StatusCode, body.Error)
	}
	return fmt.Errorf("%w: %s: HTTP %d", ErrUnexpectedResponse, step, resp.StatusCode)
}

// location returns the resolved redirect target of a 302/303 answer.
func location(step string, resp *http.Response) (*url.URL, error) {
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return nil, responseError(step, resp)
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: bad Location header", ErrUnexpectedResponse, step)
	}
	return loc, nil
}

// redirectError reports an OAuth error sent back to the client's
// redirect_uri; the state and any code are left out.
func redirectError(loc *url.URL) error {
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		if d := q.Get("error_description"); d != "" {
			return fmt.Errorf("%w: %s: %s", ErrAuthorize, e, d)
		}
		return fmt.Errorf("%w: %s", ErrAuthorize, e)
	}
	return nil
}

func (p *Provider) do(ctx context.Context, c *http.Client, method, target string, form url.Values) (*http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("idp: request: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		// url.Error would print the URL, which may hold a code or state.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("%w: %s %s: %w", ErrUnexpectedResponse, method, req.URL.Path, ue.Err)
		}
		return nil, fmt.Errorf("%w: %w", ErrUnexpectedResponse, err)
	}
	return resp, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// Login signs a user in headlessly, the way a browser would: it opens
// authorizeURL (built, for example, with oauth2.Config.AuthCodeURL), posts
// the credentials to the login page and follows the provider's redirects
// until the one to the client's redirect_uri, which it returns without
// calling it. The returned URL carries code and state. An OAuth error sent
// to the redirect_uri comes back as ErrAuthorize; wrong credentials as
// ErrInvalidCredentials, a disabled user as ErrUserDisabled.
func (p *Provider) Login(ctx context.Context, authorizeURL, username, password string) (*url.URL, error) {
	c := p.noRedirectClient()
	resp, err := p.do(ctx, c, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return nil, err
	}
	loc, err := location("authorize", resp)
	drain(resp)
	if err != nil {
		return nil, err
	}
	if loc.Path != loginPath {
		if err := redirectError(loc); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: authorize did not redirect to the login page", ErrUnexpectedResponse)
	}
	loginURL := resp.Request.URL.ResolveReference(loc)
	resp, err = p.do(ctx, c, http.MethodPost, loginURL.Scheme+"://"+loginURL.Host+loginPath, url.Values{
		"id": {loc.Query().Get("id")}, "username": {username}, "password": {password},
	})
	if err != nil {
		return nil, err
	}
	loc, err = location("login", resp)
	drain(resp)
	if err != nil {
		return nil, err
	}
	resp, err = p.do(ctx, c, http.MethodGet, resp.Request.URL.ResolveReference(loc).String(), nil)
	if err != nil {
		return nil, err
	}
	loc, err = location("callback", resp)
	drain(resp)
	if err != nil {
		return nil, err
	}
	if err := redirectError(loc); err != nil {
		return nil, err
	}
	return loc, nil
}

// ApproveDevice approves a device authorization as the user, the way the
// user would on the verification page. The device's next poll then
// receives tokens.
func (p *Provider) ApproveDevice(ctx context.Context, userCode, username, password string) error {
	resp, err := p.do(ctx, p.noRedirectClient(), http.MethodPost, p.issuer+deviceUserPath, url.Values{
		"user_code": {userCode}, "username": {username}, "password": {password},
	})
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return responseError("device approval", resp)
	}
	return nil
}
