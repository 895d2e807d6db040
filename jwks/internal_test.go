package jwks

import (
	"net/http"
	"testing"
	"time"
)

func TestIssuerMatches(t *testing.T) {
	tests := []struct {
		pattern, iss string
		want         bool
	}{
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/t1/v2.0", true},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/t1/x/v2.0", false},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com//v2.0", false},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://sts.windows.net/t1/", true},
		{"https://login.microsoftonline.com/t1/v2.0", "https://sts.windows.net/t1/", true},
		{"https://login.microsoftonline.com/t1/v2.0", "https://sts.windows.net/t2/", false},
		{"https://login.microsoftonline.com/t1/v2.0", "https://login.microsoftonline.com/t2/v2.0", false},
		{"https://idp.example", "https://idp.example", true},
		{"https://idp.example", "https://idp.example/", false},
		{"https://sts.windows.net/t1/", "https://login.microsoftonline.com/t1/v2.0", true},
		{"https://sts.windows.net/{tenantid}/", "https://login.microsoftonline.com/t1/v2.0", true},
		// Whole URLs: the same tenant segment on another host is another issuer.
		{"https://login.microsoftonline.com/t1/v2.0", "https://evil.example/t1/", false},
		{"https://login.microsoftonline.com/{tenantid}/v2.0", "https://evil.example/t1/", false},
		{"https://evil.example/t1/v2.0", "https://sts.windows.net/t1/", false},
		{"https://evil.example/t1/v2.0", "https://evil.example/t1/", false},
		{"https://login.microsoftonline.com/t1/v2.0", "https://sts.windows.net/t1/x/", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := issuerMatches(tt.pattern, tt.iss); got != tt.want {
			t.Errorf("issuerMatches(%q, %q) = %v", tt.pattern, tt.iss, got)
		}
	}
}

func TestCacheTTL(t *testing.T) {
	o := KeySetOptions{MinRefreshInterval: time.Minute, MaxRefreshInterval: time.Hour, RefreshInterval: 30 * time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{}, 30 * time.Minute},
		{http.Header{"Cache-Control": {"max-age=600, private"}}, 10 * time.Minute},
		{http.Header{"Cache-Control": {"public, MAX-AGE=86400"}}, time.Hour},
		{http.Header{"Cache-Control": {"max-age=1"}}, time.Minute},
		{http.Header{"Cache-Control": {"no-cache, max-age=600"}}, time.Minute},
		{http.Header{"Cache-Control": {"max-age=junk"}}, 30 * time.Minute},
		{http.Header{"Expires": {now.Add(20 * time.Minute).Format(http.TimeFormat)}, "Date": {now.Format(http.TimeFormat)}}, 20 * time.Minute},
		{http.Header{"Expires": {"0"}}, 30 * time.Minute},
		{http.Header{"Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}, "Date": {now.Format(http.TimeFormat)}}, time.Minute},
		{http.Header{"Cache-Control": {"max-age=120"}, "Expires": {now.Add(50 * time.Minute).Format(http.TimeFormat)}}, 2 * time.Minute},
	}
	for _, tt := range tests {
		if got := cacheTTL(tt.h, now, o); got != tt.want {
			t.Errorf("cacheTTL(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestKeySetOptionsClamp(t *testing.T) {
	o := KeySetOptions{UnknownKIDInterval: time.Millisecond, MinRefreshInterval: time.Hour, MaxRefreshInterval: time.Minute}
	o.setDefaults()
	if o.UnknownKIDInterval != time.Second || o.MaxRefreshInterval != time.Hour || o.RefreshInterval != time.Hour ||
		o.FetchTimeout != defaultFetchTimeout || o.MaxBodySize != defaultMaxBodySize {
		t.Fatalf("clamped options %+v", o)
	}
}
