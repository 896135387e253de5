package health

import "time"

// hysteresis turns the verdict of each check into the verdict to publish,
// so that one slow or unlucky check never flaps the tablet:
//
//   - A worse state is published only when two consecutive checks are
//     worse than the published state; the better of the two is published.
//     The first worse check asks for a quick recheck (Config.RecheckDelay)
//     so that a real failure shows within one interval plus that delay.
//   - A better state is published only once every check for at least
//     minDwell has been better than the published state; the worst of
//     those is published. minDwell zero publishes at once.
//   - A different reason at the same state is published at once.
//   - The first verdict after a reset is published at once.
//
// It is not safe for concurrent use; the checker guards it.
type hysteresis struct {
	minDwell  time.Duration
	published verdict
	set       bool     // published holds a verdict
	samples   []sample // recent checks, oldest first
}

// sample is one check's verdict and when it was made.
type sample struct {
	at time.Time
	v  verdict
}

// observe records v, seen at time at (which never goes backwards), and
// returns the verdict to publish and whether a worse verdict awaits
// confirmation by another check.
func (h *hysteresis) observe(at time.Time, v verdict) (verdict, bool) {
	h.samples = append(h.samples, sample{at, v})
	h.trim(at)
	if !h.set {
		h.published, h.set = v, true
		return v, false
	}
	cur := h.published.state
	switch {
	case v.state == cur:
		h.published = v
	case v.state > cur:
		n := len(h.samples)
		if n < 2 || h.samples[n-2].v.state <= cur {
			return h.published, true
		}
		if prev := h.samples[n-2].v; prev.state < v.state {
			h.published = prev
		} else {
			h.published = v
		}
	default:
		// Walk back from the newest check to the first one at least
		// minDwell old; the state held over that span is the worst seen.
		worst := v
		for i := len(h.samples) - 1; i >= 0; i-- {
			s := h.samples[i]
			if s.v.state > worst.state {
				worst = s.v
			}
			if at.Sub(s.at) >= h.minDwell {
				if worst.state < cur {
					h.published = worst
				}
				break
			}
		}
	}
	return h.published, false
}

// trim drops the samples observe no longer needs: those older than the
// newest one that is at least minDwell old, keeping at least two.
func (h *hysteresis) trim(now time.Time) {
	anchor := 0
	for i := len(h.samples) - 1; i >= 0; i-- {
		if now.Sub(h.samples[i].at) >= h.minDwell {
			anchor = i
			break
		}
	}
	anchor = min(anchor, len(h.samples)-2)
	if anchor > 0 {
		h.samples = append(h.samples[:0], h.samples[anchor:]...)
	}
}

// reset forgets everything: the next verdict is published at once.
func (h *hysteresis) reset() {
	h.samples = h.samples[:0]
	h.set = false
	h.published = verdict{}
}
