package usage_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/idbridge/idbridge/rbac/usage"
)

// FuzzSummarize: any input is summarised or refused with ErrMalformed or
// ErrTooLarge, never a panic or a report with an error.
func FuzzSummarize(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-02T09:14:03Z","event":"authz.allowed","outcome":"success","iss":"i","oid":"o","permission":"p","route":"GET /x"}` + "\n"))
	f.Add([]byte(`{"time":"2026-11-02T09:14:03Z","event":"sts.failed","outcome":"failure","sub":"s","role_arn":"arn:aws:iam::1:role/r","alg":"SAML2"}`))
	f.Add([]byte("\n\n{}\n[]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := usage.Summarize(bytes.NewReader(data), usage.Options{MaxLineBytes: 4096, MaxPairs: 16})
		if err != nil {
			if rep != nil || !(errors.Is(err, usage.ErrMalformed) || errors.Is(err, usage.ErrTooLarge)) {
				t.Fatalf("%v %v", rep, err)
			}
			return
		}
		if rep.Events+rep.Skipped != rep.Lines || int64(len(rep.Uses)) > rep.Events {
			t.Fatalf("%+v", rep)
		}
	})
}
