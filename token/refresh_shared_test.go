package token

import (
	"context"
	"errors"
	"testing"
	"time"
)

// sharedStore is a SharedRefreshStore whose Redeem answers from a script:
// each call pops the next answer and records the seen it was given.
type sharedStore struct {
	MemoryStore
	answers []sharedAnswer
	seen    []uint64
}

type sharedAnswer struct {
	tok *Token
	v   uint64
	err error
}

func (s *sharedStore) Redeem(_ context.Context, _ string, seen uint64, _ func(context.Context, Secret) (*Token, error)) (*Token, uint64, error) {
	s.seen = append(s.seen, seen)
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a.tok, a.v, a.err
}

// TestRefreshThroughSharedStore: Refresh redeems through Redeem, remembers
// the version it last got, takes another process's token only while it is
// not within the expiry margin, and classes the store's errors.
func TestRefreshThroughSharedStore(t *testing.T) {
	now := time.Now()
	fresh := &Token{AccessToken: "at-2", Expiry: now.Add(time.Hour), RefreshToken: "rt-2"}
	dying := &Token{AccessToken: "at-old", Expiry: now.Add(-time.Second)} // the store judges freshness; this is the last line
	broken := errors.New("connection refused")
	tests := []struct {
		name     string
		answers  []sharedAnswer
		wantSeen []uint64
		wantAT   string
		wantErr  error
	}{
		{"taken or redeemed", []sharedAnswer{{fresh, 7, nil}}, []uint64{0}, "at-2", nil},
		{"expired: redeem", []sharedAnswer{{dying, 7, nil}, {fresh, 8, nil}}, []uint64{0, 7}, "at-2", nil},
		{"sign-in required", []sharedAnswer{{nil, 7, ErrSignInRequired}}, []uint64{0}, "", ErrSignInRequired},
		{"store down", []sharedAnswer{{nil, 0, broken}}, []uint64{0}, "", ErrIdPUnavailable},
		{"expired twice", []sharedAnswer{{dying, 7, nil}, {dying, 7, nil}}, []uint64{0, 7}, "", ErrIdPUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &sharedStore{answers: tt.answers}
			r, err := NewRefresh(Client{ID: "web", TokenURL: "https://login.example/token"}, st, "amit", nil)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := r.Token(context.Background())
			if !errors.Is(err, tt.wantErr) || (err == nil && (tok.AccessToken != tt.wantAT || tok.RefreshToken != "")) {
				t.Fatalf("Token = %v, %v", tok, err)
			}
			if len(st.seen) != len(tt.wantSeen) || (len(st.seen) > 1 && st.seen[1] != tt.wantSeen[1]) {
				t.Fatalf("Redeem saw %v, want %v", st.seen, tt.wantSeen)
			}
			if err == nil && r.seen != 7 && r.seen != 8 {
				t.Fatalf("seen = %d", r.seen)
			}
		})
	}
}
