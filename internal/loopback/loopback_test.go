package loopback

import (
	"net/url"
	"testing"
)

func TestHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"", false},
		{"localhost.evil.example", false},
		{"127.0.0.1.nip.io", false},
		{"10.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"login.microsoftonline.com", false},
	}
	for _, tt := range tests {
		if got := Host(tt.host); got != tt.want {
			t.Errorf("Host(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://127.0.0.1:8080/keys": true,
		"http://[::1]:80/":           true,
		"http://idp.example/":        false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := URL(u); got != want {
			t.Errorf("URL(%q) = %v, want %v", raw, got, want)
		}
	}
	if URL(nil) {
		t.Error("URL(nil) must be false")
	}
}
