package redisstore

import (
	"encoding/json"
	"time"

	"github.com/idbridge/idbridge/token"
)

// record is what an entry holds once opened. token.Token redacts its
// secrets when marshalled, so the fields are copied here.
type record struct {
	AccessToken  string   `json:"at,omitempty"`
	TokenType    string   `json:"tt,omitempty"`
	Expiry       int64    `json:"exp,omitempty"` // Unix nanoseconds; 0: none
	RefreshAt    int64    `json:"rat,omitempty"`
	ExtExpiry    int64    `json:"ext,omitempty"`
	IDToken      string   `json:"idt,omitempty"`
	Scopes       []string `json:"scp,omitempty"`
	Issued       string   `json:"itt,omitempty"`
	RefreshToken string   `json:"rt,omitempty"`
	Obtained     int64    `json:"obt"` // when the access token was stored, Unix nanoseconds
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func newRecord(tok *token.Token, rt token.Secret, now time.Time) *record {
	r := &record{RefreshToken: rt.Reveal(), Obtained: now.UnixNano()}
	if tok != nil {
		r.AccessToken, r.TokenType, r.IDToken = tok.AccessToken, tok.TokenType, tok.IDToken
		r.Expiry, r.RefreshAt, r.ExtExpiry = unixNano(tok.Expiry), unixNano(tok.RefreshAt), unixNano(tok.ExtExpiry)
		r.Scopes, r.Issued = tok.Scopes, tok.IssuedTokenType
	}
	return r
}

// token returns the access token of r, or nil when it holds none.
func (r *record) token() *token.Token {
	if r.AccessToken == "" {
		return nil
	}
	return &token.Token{
		AccessToken: r.AccessToken, TokenType: r.TokenType, IDToken: r.IDToken,
		Expiry: fromUnixNano(r.Expiry), RefreshAt: fromUnixNano(r.RefreshAt), ExtExpiry: fromUnixNano(r.ExtExpiry),
		Scopes: r.Scopes, IssuedTokenType: r.Issued,
	}
}

// fresh reports whether r's access token is worth taking from another
// replica at now: it has a known expiry and more than a quarter of its
// life left, so that taking it does not just move the refresh along.
func (r *record) fresh(now time.Time) bool {
	if r.AccessToken == "" || r.Expiry == 0 {
		return false
	}
	left := r.Expiry - now.UnixNano()
	return left > 0 && left > (r.Expiry-r.Obtained)/4
}

func (s *Store) sealRecord(r *record, ad string) []byte {
	b, _ := json.Marshal(r) // only strings, ints and a []string
	return s.keys.seal(b, []byte(ad))
}

// openRecord opens env; a failure is logged (without the entry) and the
// entry is treated as missing.
func (s *Store) openRecord(env []byte, ad string) (*record, error) {
	plain, err := s.keys.open(env, []byte(ad))
	if err == nil {
		r := new(record)
		if err = json.Unmarshal(plain, r); err == nil {
			return r, nil
		}
		err = ErrTampered
	}
	s.log.Warn("token store: refused an entry from Redis; fetching a new token", "error", err)
	return nil, err
}
