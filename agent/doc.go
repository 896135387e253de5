// Package agent is the tablet's life from start to stop: it checks its
// configuration against the world, serves its HTTP pages, and on SIGTERM
// goes lameduck (reporting not serving while still answering) before it
// shuts down. It wires the lower packages (topo, pools, queryserver,
// health, backup, debugvars) together and holds no SQL text of its own
// beyond what mysqld provides.
//
// Usage:
//
//	a := agent.New(cfg, dbcfg, logger)
//	err := a.Run(ctx) // returns after ctx ends and shutdown completes
package agent
