package health

import (
	"errors"
	"fmt"
)

// Errors a Subscription reports when its channel was closed by the checker.
var (
	// ErrSlowSubscriber: the subscriber left Config.SubscriberBuffer
	// updates unread and was dropped so as never to slow the checker. It
	// should subscribe again, which delivers the current status at once.
	ErrSlowSubscriber = errors.New("health: subscriber too slow, dropped: subscribe again for the current status")
	// ErrClosed: the checker is closed.
	ErrClosed = errors.New("health: checker closed")
)

// Subscription delivers the tablet's health: the current status at once,
// then one update after every check (so at least every Config.Interval)
// and on every change. Get one from Checker.Subscribe.
type Subscription struct {
	c  *Checker
	ch chan Status
	// err says why the checker closed ch; guarded by c.mu.
	err error
}

// Updates returns the channel of updates. The checker closes it when it
// drops the subscriber (Err wraps ErrSlowSubscriber), when the checker
// closes (ErrClosed), or when the subscriber calls Close (Err is nil). A
// subscriber must read it promptly: the checker never waits for a reader.
func (s *Subscription) Updates() <-chan Status { return s.ch }

// Err says why Updates was closed: an error wrapping ErrSlowSubscriber or
// ErrClosed, or nil while it is open or after Close.
func (s *Subscription) Err() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes Updates, unless the checker has
// closed it already. It is safe to call more than once and concurrently
// with updates.
func (s *Subscription) Close() {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if _, ok := s.c.subs[s]; ok {
		delete(s.c.subs, s)
		close(s.ch)
	}
}

// Subscribe returns a subscription whose channel holds the current status.
// After Close of the checker, the channel is closed at once and Err
// returns ErrClosed. Safe for concurrent use.
func (c *Checker) Subscribe() *Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &Subscription{c: c, ch: make(chan Status, c.cfg.SubscriberBuffer)}
	if c.closed {
		s.err = ErrClosed
		close(s.ch)
		return s
	}
	s.ch <- c.withLoad(c.status)
	c.subs[s] = struct{}{}
	return s
}

// broadcastLocked sends st to every subscriber without waiting, dropping
// those whose buffer is full. c.mu must be held.
func (c *Checker) broadcastLocked(st Status) {
	for s := range c.subs {
		select {
		case s.ch <- st:
		default:
			s.err = fmt.Errorf("%w (%d updates unread)", ErrSlowSubscriber, cap(s.ch))
			close(s.ch)
			delete(c.subs, s)
			c.dropped.Add(1)
			c.logger.Warn("dropped a slow health subscriber", "unread", cap(s.ch))
		}
	}
}

// closeSubscribersLocked closes every subscription with err. c.mu must be
// held.
func (c *Checker) closeSubscribersLocked(err error) {
	for s := range c.subs {
		s.err = err
		close(s.ch)
		delete(c.subs, s)
	}
}
