package jwks

import (
	"hash/maphash"
	"time"

	"github.com/idbridge/idbridge/internal/backoff"
)

const (
	// repeatedKIDInterval bounds the back-off for a kid seen in two tokens
	// and not yet looked up: a real rotation's kid arrives again and again,
	// a random forged one once, so a rotation is picked up within about
	// this long even while random kids exhaust the hourly budget.
	repeatedKIDInterval = 4 * time.Second
	// maxAbsent bounds how long a kid that a refresh did not find is
	// refused without a fetch. It is also the longest a key published
	// just after a refresh missed it stays refused (plus a repeated kid's
	// wait): the outage a rotation can suffer when a token of the new key
	// arrives before the key is published.
	maxAbsent = 30 * time.Second
	// kidMemory is how long a kid's first sighting is remembered while no
	// fetch has looked it up: a kid seen again within it is a repeated kid.
	// A kid that a fetch did not find is remembered until its slot is
	// reused.
	kidMemory = 5 * time.Minute
	// kidSlots is the size of the table of unknown kids (24 bytes each,
	// allocated at the first unknown kid). A real kid is remembered while
	// it makes up more than about 1/kidSlots of the unknown-kid traffic.
	kidSlots = 2048
)

// kidPolicy decides when a token whose kid is not in the key set may cause
// a fetch, so that a rotation is picked up at once while forged kids cost
// the IdP little:
//
//   - Only fetches caused by unknown kids (miss fetches) count; the first
//     load and background refreshes do not.
//   - Two miss fetches are at least floor apart. After n fetches in a row
//     that published no new kid, the next waits floor·2^(n-1), up to
//     maxBackoff; a fetch that publishes one, or a quiet spell of
//     2·maxBackoff, starts again from floor.
//   - A kid seen once may cause a fetch only while fewer than perHour miss
//     fetches started in the last hour; a kid seen twice and not yet looked
//     up ignores that budget and waits at most repeatedKIDInterval.
//   - A kid that a successful fetch, started after it was first seen, did
//     not publish is known absent: it costs a hash. It stays absent for
//     as long as it had been missing when that fetch started, at least
//     repeatedKIDInterval and at most maxAbsent; then it is a repeated kid
//     again, until the next good fetch opens a new window (the entry is
//     kept until its slot is reused). So a kid that keeps coming and is never
//     published is looked up after 4 s, 8 s, 16 s, then every 30 s (one
//     forged kid, or an old kid after an emergency rotation), and a key
//     published after a fetch missed it is refused for at most maxAbsent
//     plus a repeated kid's wait.
//
// Kids are remembered by a keyed hash in a direct-mapped table, so an
// attacker controls neither its memory nor which entries collide.
//
// The fields are guarded by RemoteKeySet.mu.
type kidPolicy struct {
	floor, maxBackoff time.Duration
	seed              maphash.Seed
	kids              *[kidSlots]kidEntry
	hist              []time.Time // start times of the last miss fetches, a ring of perHour
	next              int         // oldest entry of hist
	last              time.Time   // start of the last miss fetch; zero before the first
	fruitless         int         // miss fetches in a row that published no new kid
	started           uint64      // fetches started, of every kind
	lastGood          uint64      // number of the last fetch that succeeded
	lastGoodAt        int64       // its start, Unix nanoseconds
	refused           int         // unknown kids refused since the last throttle log
	loggedAt          time.Time   // last throttle log
}

type kidEntry struct {
	h     uint64 // keyed hash of the kid
	seq   uint64 // fetches started before the kid was first seen
	first int64  // first seen, Unix nanoseconds
}

func newKidPolicy(floor time.Duration, perHour int) kidPolicy {
	return kidPolicy{
		floor:      floor,
		maxBackoff: max(floor, 2*time.Hour/time.Duration(perHour)),
		seed:       maphash.MakeSeed(),
		hist:       make([]time.Time, perHour),
	}
}

func (p *kidPolicy) hash(kid string) uint64 { return maphash.String(p.seed, kid) }

// observe records a sighting of the kid with hash h. It reports absent when
// a fetch that succeeded after the kid's first sighting did not publish
// it, within the absence window of the last good fetch, and otherwise
// whether it was seen before; e is the kid's entry.
func (p *kidPolicy) observe(h uint64, now time.Time) (e *kidEntry, absent, repeated bool) {
	if p.kids == nil {
		p.kids = new([kidSlots]kidEntry)
	}
	e = &p.kids[h%kidSlots]
	t := now.UnixNano()
	if e.first != 0 && e.h == h {
		if p.lastGood > e.seq {
			// A fetch missed it. Within the absence window of the
			// last good fetch it is refused; after, it is a repeated
			// kid, and the next good fetch opens a new window. The
			// entry is kept whatever its age, so that the window
			// keeps growing for a kid that keeps coming (and a
			// token arriving while that fetch is in flight does not
			// make it a new kid).
			if d := t - p.lastGoodAt; d >= 0 && d < p.absentFor(e) {
				return e, true, true
			}
			return e, false, true
		}
		if t-e.first < int64(kidMemory) {
			return e, false, true
		}
	}
	*e = kidEntry{h: h, seq: p.started, first: t}
	return e, false, false
}

// absentFor is how long, in nanoseconds from the start of the last good
// fetch, the kid of entry e stays known absent: as long as it had been
// missing then, within [repeatedKIDInterval, maxAbsent] (never under the
// floor, which no refresh can beat).
func (p *kidPolicy) absentFor(e *kidEntry) int64 {
	lo := int64(max(repeatedKIDInterval, p.floor))
	return min(max(p.lastGoodAt-e.first, lo), max(int64(maxAbsent), lo))
}

// absent reports whether entry e, still holding hash h, is known absent
// after a fetch just ended.
func (p *kidPolicy) absent(e *kidEntry, h uint64) bool {
	return e.h == h && p.lastGood > e.seq
}

// succeeded records that fetch number seq, started at start, succeeded.
func (p *kidPolicy) succeeded(seq uint64, start time.Time) {
	p.lastGood, p.lastGoodAt = seq, start.UnixNano()
}

// nextFetch is the earliest time a miss fetch may start for a kid seen
// once, or for one seen again (repeated).
func (p *kidPolicy) nextFetch(repeated bool, now time.Time) time.Time {
	if p.last.IsZero() {
		return now
	}
	d := p.interval(now)
	if repeated {
		return p.last.Add(min(d, max(repeatedKIDInterval, p.floor)))
	}
	at := p.last.Add(d)
	if oldest := p.hist[p.next]; !oldest.IsZero() {
		at = later(at, oldest.Add(time.Hour))
	}
	return at
}

// interval is the least time between the last miss fetch and the next.
func (p *kidPolicy) interval(now time.Time) time.Duration {
	if now.Sub(p.last) >= 2*p.maxBackoff {
		return p.floor
	}
	return min(backoff.Policy{Min: p.floor, Max: p.maxBackoff}.Step(p.fruitless), p.maxBackoff)
}

// begin records the start of a miss fetch.
func (p *kidPolicy) begin(now time.Time) {
	if !p.last.IsZero() && now.Sub(p.last) >= 2*p.maxBackoff {
		p.fruitless = 0
	}
	p.last = now
	p.hist[p.next] = now
	p.next = (p.next + 1) % len(p.hist)
}

// end records whether a miss fetch published a new kid.
func (p *kidPolicy) end(fruitful bool) {
	if fruitful {
		p.fruitless = 0
	} else {
		p.fruitless++
	}
}

// inLastHour counts the miss fetches started in the hour before now.
func (p *kidPolicy) inLastHour(now time.Time) int {
	n := 0
	for _, t := range p.hist {
		if !t.IsZero() && now.Sub(t) < time.Hour {
			n++
		}
	}
	return n
}

// throttled counts a refused kid and reports whether to log it now: at
// most once a minute, so that a flood cannot flood the log.
func (p *kidPolicy) throttled(now time.Time) (refused int, log bool) {
	p.refused++
	if !p.loggedAt.IsZero() && now.Sub(p.loggedAt) < time.Minute {
		return 0, false
	}
	refused, p.refused, p.loggedAt = p.refused, 0, now
	return refused, true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
