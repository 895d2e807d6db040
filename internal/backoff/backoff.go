// Package backoff is the one retry schedule of idbridge: exponential from
// a minimum to a cap, with equal jitter (each wait is drawn uniformly from
// the upper half of the exponential step, so that many processes that
// failed together do not retry together), and never shorter than the
// server's Retry-After. token, jwks, federation and rbac use it.
package backoff

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter bounds what a server's Retry-After can impose: a longer
// (or far-future) value is read as one hour, so that a misbehaving server
// cannot park a client for days.
const MaxRetryAfter = time.Hour

// Policy is an exponential backoff from Min, doubling per failure, capped
// at Max. Min and Max must be positive (use internal/option to default
// them); a Max below Min counts as Min.
type Policy struct {
	Min, Max time.Duration
}

// Step returns the exponential step for the given number of consecutive
// failures (1 for the first), without jitter: Min·2^(failures-1), at most
// Max. failures below 1 count as 1.
func (p Policy) Step(failures int) time.Duration {
	hi := max(p.Max, p.Min)
	d := p.Min
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// Delay returns how long to wait after the given number of consecutive
// failures: [Policy.Step] with equal jitter (uniform in [step/2, step]),
// or retryAfter when that is longer. retryAfter is the server's
// Retry-After as read by [RetryAfter] (0 when none).
func (p Policy) Delay(failures int, retryAfter time.Duration) time.Duration {
	d := p.Step(failures)
	if d > 0 {
		d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	}
	return max(d, min(retryAfter, MaxRetryAfter))
}

// RetryAfter parses a Retry-After header value (RFC 9110 section 10.2.3):
// delay-seconds or an HTTP date, relative to now. It returns 0 for an
// empty, past or unparsable value, and at most [MaxRetryAfter].
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
