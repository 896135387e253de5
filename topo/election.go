package topo

import (
	"context"
	"errors"
	"sync"
	"time"
)

// LeasedLock is a lock held on a lease, as backends implement Conn.Lock.
// Backends return it so that NewLockElection can build elections on it.
type LeasedLock interface {
	LockDescriptor

	// Context returns a context that is cancelled when the lock ends: on
	// Unlock, when the lease is lost, or when its Conn closes.
	Context() context.Context
}

// LockFunc takes a lock on dir with contents, blocking until held or ctx
// ends. Unlike Conn.Lock it does not require dir to exist.
type LockFunc func(ctx context.Context, dir, contents string) (LeasedLock, error)

// LeaderIDFunc returns the contents of the oldest lock node of an
// election, or "" if there is none.
type LeaderIDFunc func(ctx context.Context) (string, error)

var errStopped = errors.New("election participation stopped")

// NewLockElection returns a LeaderParticipation built on a backend's lock:
// joining the election is taking the lock on elections/<name> with id as
// contents, leading is holding it, and stepping down is unlocking. The
// oldest contender holds the lock, so leadership passes in order of
// arrival. stopTimeout bounds the unlock in Stop (use the lease TTL: past
// it the lease has expired anyway). Backends call it from
// NewLeaderParticipation.
func NewLockElection(name, id string, lock LockFunc, leaderID LeaderIDFunc, stopTimeout time.Duration) LeaderParticipation {
	return &lockElection{name: name, id: id, lock: lock, leaderID: leaderID, stopTimeout: stopTimeout}
}

type lockElection struct {
	name, id    string
	lock        LockFunc
	leaderID    LeaderIDFunc
	stopTimeout time.Duration

	mu         sync.Mutex // guards the fields below
	started    bool
	stopped    bool
	cancelWait context.CancelFunc // interrupts a pending lock
	held       LeasedLock
	cancelLead context.CancelFunc // ends the leadership context
}

// WaitForLeadership implements LeaderParticipation.
func (e *lockElection) WaitForLeadership(ctx context.Context) (context.Context, error) {
	dir := ElectionDir(e.name)
	e.mu.Lock()
	switch {
	case e.stopped:
		e.mu.Unlock()
		return nil, NewError(Interrupted, "wait for leadership", dir, errStopped)
	case e.started:
		e.mu.Unlock()
		return nil, NewError(Unknown, "wait for leadership", dir, errors.New("WaitForLeadership called twice"))
	}
	e.started = true
	waitCtx, cancel := context.WithCancel(ctx)
	e.cancelWait = cancel
	e.mu.Unlock()
	defer cancel()

	l, err := e.lock(waitCtx, dir, e.id)
	if err != nil {
		e.mu.Lock()
		stopped := e.stopped
		e.mu.Unlock()
		if stopped {
			return nil, NewError(Interrupted, "wait for leadership", dir, errStopped)
		}
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		// Stop ran while the lock was being granted; it saw nothing to
		// release, so release here.
		uctx, ucancel := context.WithTimeout(context.Background(), e.stopTimeout)
		defer ucancel()
		_ = l.Unlock(uctx) // the lease expires anyway if this fails
		return nil, NewError(Interrupted, "wait for leadership", dir, errStopped)
	}
	leadCtx, leadCancel := context.WithCancel(l.Context())
	e.held = l
	e.cancelLead = leadCancel
	return leadCtx, nil
}

// Stop implements LeaderParticipation.
func (e *lockElection) Stop() {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	if e.cancelWait != nil {
		e.cancelWait()
	}
	held, cancelLead := e.held, e.cancelLead
	e.mu.Unlock()

	if cancelLead != nil {
		cancelLead()
	}
	if held != nil {
		ctx, cancel := context.WithTimeout(context.Background(), e.stopTimeout)
		defer cancel()
		// On failure the lease expires within its TTL, which is all Stop
		// promises when the store is unreachable.
		_ = held.Unlock(ctx)
	}
}

// GetCurrentLeaderID implements LeaderParticipation.
func (e *lockElection) GetCurrentLeaderID(ctx context.Context) (string, error) {
	return e.leaderID(ctx)
}
