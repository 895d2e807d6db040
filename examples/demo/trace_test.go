package main

import (
	"bufio"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// checkOneTrace checks story_trace.go's section of TestStory's output: one
// request from lending-web through the lending API, its on-behalf-of token
// and the analytics API is listed under one trace ID, and the audit trail
// (trail, the JSON lines) has each of those events, in both services, with
// that trace_id and nothing else of the trace.
func checkOneTrace(t *testing.T, out, trail string) {
	t.Helper()
	m := regexp.MustCompile(`one trace across services: trace_id ([0-9a-f]{32})\n((?: +\S+ +\S+\n)+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no 'one trace across services' section with its events in:\n%s", out)
	}
	traceID := m[1]
	want := []string{
		"lending-api token.validated", "lending-api authz.allowed", "lending-api token.issued",
		"analytics-api token.validated", "analytics-api authz.allowed",
	}
	var listed []string
	for l := range strings.Lines(m[2]) {
		listed = append(listed, strings.Join(strings.Fields(l), " "))
	}
	if !slices.Equal(listed, want) {
		t.Errorf("trace %s lists %q, want %q", traceID, listed, want)
	}

	var inTrail []string
	sc := bufio.NewScanner(strings.NewReader(trail))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct {
			Event   string `json:"event"`
			Service string `json:"service"`
			TraceID string `json:"trace_id"`
			SpanID  string `json:"span_id"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.TraceID != traceID {
			continue
		}
		if len(ev.SpanID) != 16 {
			t.Errorf("%s of %s has span_id %q", ev.Event, ev.Service, ev.SpanID)
		}
		inTrail = append(inTrail, ev.Service+" "+ev.Event)
	}
	if !slices.Equal(inTrail, want) {
		t.Errorf("audit trail events with trace_id %s: %q, want %q", traceID, inTrail, want)
	}
}
