package pools

// setHooks installs queue observers; call before the pool sees traffic.
func (p *Pool[C]) setHooks(h *testHooks) {
	p.mu.Lock()
	p.hooks = h
	p.mu.Unlock()
}

// stallForTest takes back a lent connection onto the idle stack without
// serving the queue: the bug the stall watchdog exists to catch.
func (p *Pool[C]) stallForTest(pc *Pooled[C]) {
	pc.lent = false
	pc.g.push(&pc.g.idle, pc)
}

// runWatchdogForTest runs one watchdog pass now.
func (p *Pool[C]) runWatchdogForTest() { p.watchdog() }
