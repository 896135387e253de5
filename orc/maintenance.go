package orc

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Hold is one reason to keep the tablet's instance in maintenance; the
// instance stays in maintenance while any Hold is outstanding. Release it
// when the reason is gone.
type Hold struct {
	r      *Registrar // nil for a disabled Registrar's holds
	reason string
}

// Hold takes a hold with reason, for states that last (such as a restore
// before the tablet has a type); prefer WithMaintenance around an
// operation. It never waits for Orchestrator: Run begins the maintenance
// (or renews it under a reason that includes this one) as soon as it can;
// call Sync to wait for that.
func (r *Registrar) Hold(reason string) *Hold {
	if r.client == nil {
		return &Hold{reason: reason}
	}
	r.mu.Lock()
	h := r.addHoldLocked(reason)
	r.gen++
	r.mu.Unlock()
	kick(r.maintainKick)
	return h
}

// Release gives the hold up. It never waits for Orchestrator; when it was
// the last hold, Run ends the maintenance as soon as it can. Releasing
// twice does nothing.
func (h *Hold) Release() {
	r := h.r
	if r == nil {
		return
	}
	r.mu.Lock()
	removed := r.removeHoldLocked(h)
	if removed {
		r.gen++
	}
	r.mu.Unlock()
	if removed {
		kick(r.maintainKick)
	}
}

// addHoldLocked appends a hold; r.mu is held.
func (r *Registrar) addHoldLocked(reason string) *Hold {
	h := &Hold{r: r, reason: reason}
	r.holds = append(r.holds, h)
	return h
}

// removeHoldLocked removes h and reports whether it was outstanding; r.mu
// is held.
func (r *Registrar) removeHoldLocked(h *Hold) bool {
	i := slices.Index(r.holds, h)
	if i < 0 {
		return false
	}
	r.holds = slices.Delete(r.holds, i, i+1)
	return true
}

// Sync waits until the maintenance wanted when it was called (holds taken
// and released, the tablet's address and type) is in force in
// Orchestrator, or a later state is. It returns ctx's cause if ctx ends
// first: Run is not running, or Orchestrator is failing (Run keeps
// retrying). Disabled, it returns nil at once.
func (r *Registrar) Sync(ctx context.Context) error {
	if r.client == nil {
		return nil
	}
	r.mu.Lock()
	want := r.gen
	r.mu.Unlock()
	for {
		r.mu.Lock()
		done, ch := r.appliedGen >= want, r.applied
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-ch:
		}
	}
}

// WithMaintenance runs op with the instance in maintenance: it takes a
// hold with reason, waits until Orchestrator confirms the maintenance, runs
// op, releases the hold, and waits until Orchestrator confirms the end
// (when no other hold remains). The hold is released when op fails or
// panics too. Each wait lasts at most Config.Timeout and at most as long as
// ctx: when Orchestrator does not confirm in time, op runs anyway (a backup
// must not depend on Orchestrator being up), the miss is logged and counted
// (OrcMaintenanceUnconfirmed), and Run keeps trying in the background. A
// long op needs nothing more: Run renews the maintenance before it
// expires. WithMaintenance returns op's error. Disabled, it only runs op.
func (r *Registrar) WithMaintenance(ctx context.Context, reason string, op func(ctx context.Context) error) error {
	if r.client == nil {
		return op(ctx)
	}
	h := r.Hold(reason)
	released := false
	defer func() {
		if !released {
			h.Release() // op panicked
		}
	}()
	if err := r.syncFor(ctx); err != nil && ctx.Err() == nil {
		r.unconfirmed.Add(1)
		r.logger.Warn("orchestrator did not confirm maintenance in time; running the operation anyway",
			"reason", reason, "err", err)
	} else if st := r.Status(); !st.InMaintenance && st.MaintenanceBy == "" {
		r.unconfirmed.Add(1)
		r.logger.Warn("instance not in orchestrator maintenance: the tablet's MySQL address is not set yet",
			"reason", reason)
	}
	err := op(ctx)
	h.Release()
	released = true
	if ctx.Err() == nil {
		if serr := r.syncFor(ctx); serr != nil {
			r.logger.Warn("orchestrator did not confirm the end of maintenance in time; retrying in the background",
				"reason", reason, "err", serr)
		}
	}
	return err
}

// Confirm waits until the maintenance wanted when it was called (holds
// taken and released so far) is in force in Orchestrator, at most
// Config.Timeout and at most as long as ctx: the wait WithMaintenance makes
// before its operation, for callers that hold maintenance with Hold around
// an operation of their own. When Orchestrator does not confirm in time,
// Confirm counts the miss in OrcMaintenanceUnconfirmed and returns why
// (ErrTimeout, or ctx's cause); Run keeps trying in the background.
// Disabled, it returns nil at once.
func (r *Registrar) Confirm(ctx context.Context) error {
	if r.client == nil {
		return nil
	}
	err := r.syncFor(ctx)
	if err != nil {
		r.unconfirmed.Add(1)
	}
	return err
}

// syncFor is Sync bounded by Config.Timeout as well as ctx.
func (r *Registrar) syncFor(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, ErrTimeout)
	defer cancel()
	return r.Sync(ctx)
}

// maintenanceState is the tablet's maintenance in Orchestrator as the
// maintenance loop last saw it. Only that loop writes it, under r.mu.
type maintenanceState struct {
	active  bool        // our maintenance is active on key
	foreign string      // owner of someone else's active maintenance on key that stands in for ours
	key     InstanceKey // where active or foreign applies
	reason  string      // reason of our active maintenance
	since   time.Time   // when active began or was renewed, or foreign was seen
	checked InstanceKey // the key on which stale maintenance of ours was looked for
}

// wanted is the maintenance the holds ask for, as of generation gen.
type wanted struct {
	want   bool
	key    InstanceKey
	reason string
	gen    uint64
}

// maintainLoop puts the wanted maintenance in force, step by step, until
// ctx ends: it begins, renews and ends maintenance, retrying failures with
// backoff, and sleeps until a hold changes or a renewal falls due.
func (r *Registrar) maintainLoop(ctx context.Context) {
	kick(r.maintainKick) // look at once; covers any kick from before Run
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.maintainKick:
			timer.Stop()
		}
		for {
			w := r.wanted()
			synced, err := r.step(ctx, w)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				failures++
				wait := jitter(backoff(r.cfg.BackoffMin, r.cfg.BackoffMax, failures), r.cfg.DiscoverJitter)
				r.logger.Warn("orchestrator maintenance call failed", "attempt", failures,
					"retry_in", wait.Round(time.Millisecond), "err", err)
				timer.Reset(wait)
				break
			}
			failures = 0
			if !synced {
				continue // one step done, more to do
			}
			r.markApplied(w.gen)
			if due, ok := r.renewalDue(); ok {
				timer.Reset(time.Until(due))
			}
			break
		}
	}
}

// wanted snapshots the maintenance the holds ask for.
func (r *Registrar) wanted() wanted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return wanted{want: len(r.holds) > 0, key: r.tablet.key(), reason: joinReasons(r.holds), gen: r.gen}
}

// markApplied records that the state of generation gen is in force and
// wakes Sync's waiters.
func (r *Registrar) markApplied(gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen > r.appliedGen {
		r.appliedGen = gen
		close(r.applied)
		r.applied = make(chan struct{})
	}
}

// renewalDue is when the active (or stood-in-for) maintenance must be
// renewed or checked again; ok is false when there is none.
func (r *Registrar) renewalDue() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.maint.active && r.maint.foreign == "" {
		return time.Time{}, false
	}
	return r.maint.since.Add(r.cfg.renewAfter()), true
}

// setMaint updates the maintenance state and its gauge.
func (r *Registrar) setMaint(f func(m *maintenanceState)) {
	r.mu.Lock()
	f(&r.maint)
	active := r.maint.active
	r.mu.Unlock()
	if active {
		r.maintenanceGauge.Store(1)
	} else {
		r.maintenanceGauge.Store(0)
	}
}

// step makes at most one change towards w (a renewal is one change of two
// calls) and reports whether w is now in force.
func (r *Registrar) step(ctx context.Context, w wanted) (synced bool, err error) {
	r.mu.Lock()
	m := r.maint
	r.mu.Unlock()
	now := time.Now()
	switch {
	case m.active && (!w.want || m.key != w.key):
		if err := r.end(ctx, m.key); err != nil {
			return false, err
		}
		r.logger.Info("ended orchestrator maintenance", "instance", m.key.String(), "reason", m.reason)
		r.setMaint(func(m *maintenanceState) { m.active, m.reason = false, "" })
		return false, nil

	case m.foreign != "" && (!w.want || m.key != w.key):
		r.setMaint(func(m *maintenanceState) { m.foreign = "" }) // not ours to end
		return false, nil

	case !w.key.IsValid():
		return true, nil // nothing to do until SetTablet gives an address

	case !w.want && m.checked != w.key:
		// Maintenance of ours left by an earlier run (a crash during a
		// backup) would keep the instance from promotion until it expired.
		list, err := r.list(ctx)
		if err != nil {
			return false, err
		}
		if e, ok := findMaintenance(list, w.key); ok && e.Owner == r.cfg.MaintenanceOwner {
			if err := r.end(ctx, w.key); err != nil {
				return false, err
			}
			r.logger.Info("ended orchestrator maintenance left by an earlier run", "instance", w.key.String(),
				"reason", e.Reason, "began", e.BeginTimestamp)
		}
		r.setMaint(func(m *maintenanceState) { m.checked = w.key })
		return false, nil

	case !w.want:
		return true, nil

	case !m.active && m.foreign == "":
		return r.begin(ctx, w)

	case m.foreign != "" && !now.Before(m.since.Add(r.cfg.renewAfter())):
		// Look again whether the other owner's maintenance is over.
		r.setMaint(func(m *maintenanceState) { m.foreign = "" })
		return false, nil

	case m.active && (m.reason != w.reason || !now.Before(m.since.Add(r.cfg.renewAfter()))):
		// Orchestrator cannot extend maintenance or change its reason:
		// end it and begin it again at once. The instance is out of
		// maintenance for one round trip.
		if err := r.end(ctx, m.key); err != nil {
			return false, err
		}
		r.setMaint(func(m *maintenanceState) { m.active = false })
		synced, err := r.begin(ctx, w)
		if err == nil && synced {
			r.logger.Debug("renewed orchestrator maintenance", "instance", w.key.String(), "reason", w.reason)
		}
		return synced, err
	}
	return true, nil
}

// begin begins maintenance for w. When Orchestrator refuses because the
// instance is in maintenance already, it looks at who holds it: ours from
// an earlier run is ended (and begun afresh by the next step); another
// owner's stands in for ours until it ends.
func (r *Registrar) begin(ctx context.Context, w wanted) (synced bool, err error) {
	err = r.client.BeginMaintenance(ctx, w.key.Hostname, w.key.Port, r.cfg.MaintenanceOwner, w.reason)
	r.count("begin", err)
	if err == nil {
		r.logger.Info("began orchestrator maintenance", "instance", w.key.String(), "reason", w.reason)
		r.setMaint(func(m *maintenanceState) {
			*m = maintenanceState{active: true, key: w.key, reason: w.reason, since: time.Now(), checked: w.key}
		})
		return true, nil
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code == "" {
		return false, err // unreachable, or not Orchestrator answering
	}
	list, lerr := r.list(ctx)
	if lerr != nil {
		return false, errors.Join(err, lerr)
	}
	e, ok := findMaintenance(list, w.key)
	switch {
	case !ok:
		return false, err
	case e.Owner == r.cfg.MaintenanceOwner:
		if err := r.end(ctx, w.key); err != nil {
			return false, err
		}
		r.logger.Info("took over orchestrator maintenance left by an earlier run", "instance", w.key.String(),
			"old_reason", e.Reason)
		return false, nil
	default:
		r.logger.Warn("instance already in orchestrator maintenance by another owner; relying on it",
			"instance", w.key.String(), "owner", e.Owner, "their_reason", e.Reason, "our_reason", w.reason)
		r.setMaint(func(m *maintenanceState) {
			*m = maintenanceState{foreign: e.Owner, key: w.key, since: time.Now(), checked: w.key}
		})
		return true, nil
	}
}

// end ends the maintenance on key.
func (r *Registrar) end(ctx context.Context, key InstanceKey) error {
	err := r.client.EndMaintenance(ctx, key.Hostname, key.Port)
	r.count("end", err)
	return err
}

// list lists the active maintenance.
func (r *Registrar) list(ctx context.Context) ([]Maintenance, error) {
	l, err := r.client.ActiveMaintenance(ctx)
	r.count("list", err)
	return l, err
}

// count records a maintenance call's result.
func (r *Registrar) count(call string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	r.maintCalls.Add(1, call, result)
}

// findMaintenance returns the active entry for key in list.
func findMaintenance(list []Maintenance, key InstanceKey) (Maintenance, bool) {
	for _, e := range list {
		if e.IsActive && e.Key == key {
			return e, true
		}
	}
	return Maintenance{}, false
}
