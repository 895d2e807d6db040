package usage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/internal/audit"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/usage"
)

const (
	entra = "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0"
	amit  = "0d6f1e0b-1c0e-4d5a-9d8e-3b1f2a7c9e01"
)

// bankLog writes a real audit stream: the policy's own authz events
// (Policy.Authorize with a JSON handler) and the middleware's and
// federation's shapes through internal/audit.
func bankLog(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, nil)
	p, err := rbac.NewPolicy("../../examples/policies/bank.yaml", func(o *rbac.Options) { o.Audit = h })
	if err != nil {
		t.Fatal(err)
	}
	c := &idbridge.Claims{Issuer: entra, ObjectID: amit, Subject: "pairwise-sub", Groups: []string{"4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"}}
	ctx := context.Background()
	p.Authorize(ctx, c, "loan:read")
	p.Authorize(ctx, c, "loan:approve") // denied: insufficient_role
	log := audit.New(h)
	log.Emit(ctx, audit.Event{Name: audit.AuthzAllowed, Outcome: audit.Success, Issuer: entra, ObjectID: amit,
		Permission: "loan:read", Route: "GET /loans/{id}", Method: "GET"})
	log.Emit(ctx, audit.Event{Name: audit.STSAssumed, Outcome: audit.Success, Issuer: entra, ObjectID: amit,
		Attrs: []slog.Attr{slog.String("role_arn", "arn:aws:iam::111122223333:role/Loan_ReadOnly")}})
	log.Emit(ctx, audit.Event{Name: audit.TokenValidated, Outcome: audit.Success, Issuer: entra, ObjectID: amit})
	slog.New(h).Info("unrelated record")
	return buf.Bytes()
}

func TestSummarizeBank(t *testing.T) {
	rep, err := usage.Summarize(bytes.NewReader(bankLog(t)), usage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 6 || rep.Events != 4 || rep.Skipped != 2 || len(rep.Uses) != 3 {
		t.Fatalf("%+v", rep)
	}
	var got []string
	for _, u := range rep.Uses {
		got = append(got, fmt.Sprintf("%s %s allowed=%d route=%q denied=%d reason=%q", u.Kind, u.Entitlement, u.Allowed, u.LastRoute, u.Denied, u.LastReason))
	}
	want := []string{
		`aws_role arn:aws:iam::111122223333:role/Loan_ReadOnly allowed=1 route="sts:AssumeRoleWithWebIdentity" denied=0 reason=""`,
		`permission loan:approve allowed=0 route="" denied=1 reason="insufficient_role"`,
		`permission loan:read allowed=2 route="GET /loans/{id}" denied=0 reason=""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s", strings.Join(got, "\n"))
	}
	if un := rep.Unused(usage.KindPermission, []string{"loan:read", "loan:approve", "kyc:read"}); strings.Join(un, ",") != "kyc:read,loan:approve" {
		t.Errorf("unused %v", un)
	}
}

func TestSummarizeRefuses(t *testing.T) {
	good := string(bankLog(t))
	tests := []struct {
		name string
		in   string
		o    usage.Options
		want error
		line string
	}{
		{"not JSON", good + "garbage\n", usage.Options{}, usage.ErrMalformed, "line 7"},
		{"truncated last line", good + `{"time":"2026-12-03T10:00:00Z","event":"authz.allowed","oid":"x","permission":"p"`, usage.Options{}, usage.ErrMalformed, "line 7"},
		{"array", "[1]\n", usage.Options{}, usage.ErrMalformed, "not a JSON object"},
		{"bad time", `{"time":"yesterday","event":"authz.allowed"}` + "\n", usage.Options{}, usage.ErrMalformed, "line 1"},
		{"event without time", `{"event":"authz.allowed","outcome":"success","oid":"x","permission":"p"}` + "\n", usage.Options{}, usage.ErrMalformed, "without time"},
		{"line too long", good + strings.Repeat("x", 2000) + "\n", usage.Options{MaxLineBytes: 1024}, usage.ErrTooLarge, "line 7"},
		{"too many pairs", good, usage.Options{MaxPairs: 2}, usage.ErrTooLarge, "more than 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := usage.Summarize(strings.NewReader(tt.in), tt.o)
			if !errors.Is(err, tt.want) || rep != nil || !strings.Contains(err.Error(), tt.line) {
				t.Fatalf("got %v, %v", rep, err)
			}
			if strings.Contains(err.Error(), "garbage") || strings.Contains(err.Error(), "yesterday") {
				t.Errorf("error quotes the input: %v", err)
			}
		})
	}
}

// events generates n audit lines for users × permissions without holding
// them in memory.
type events struct {
	n, i  int
	users int
	buf   []byte
	peak  uint64 // largest HeapAlloc seen, sampled every 10,000 lines
}

func (e *events) Read(p []byte) (int, error) {
	for len(e.buf) < len(p) && e.i < e.n {
		ts := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(e.i) * time.Second)
		e.buf = fmt.Appendf(e.buf, `{"time":%q,"level":"INFO","msg":"authz.allowed","event":"authz.allowed","outcome":"success","iss":%q,"oid":"user-%06d","roles":["LoanViewer"],"permission":"perm:%d","route":"GET /loans/{id}","method":"GET","remote_addr":"192.0.2.7:4711","duration_ms":0.012,"policy_version":"c38a1f280af4"}`+"\n",
			ts.Format(time.RFC3339Nano), entra, e.i%e.users, e.i%7)
		e.i++
		if e.i%10000 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			e.peak = max(e.peak, ms.HeapAlloc)
		}
	}
	if len(e.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

// TestSummarizeStreams: 100,000 lines (about 35 MB) are summarised from a
// stream; the result holds one entry per pair, and the heap stays far
// below the size of the input.
func TestSummarizeStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("35 MB of input")
	}
	e := &events{n: 100000, users: 1000}
	rep, err := usage.Summarize(e, usage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.peak > 24<<20 {
		t.Errorf("heap reached %d MiB for 35 MB of input", e.peak>>20)
	}
	t.Logf("peak heap %.1f MiB", float64(e.peak)/(1<<20))
	if rep.Events != 100000 || len(rep.Uses) != 7000 || !rep.To.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(99999*time.Second)) {
		t.Fatalf("events %d, uses %d, to %v", rep.Events, len(rep.Uses), rep.To)
	}
}

func BenchmarkSummarize(b *testing.B) {
	const lines = 100000
	var total int64
	for b.Loop() {
		e := &events{n: lines, users: 1000}
		if _, err := usage.Summarize(e, usage.Options{}); err != nil {
			b.Fatal(err)
		}
		total += lines
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/line")
}
