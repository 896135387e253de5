// Package debugvars is the tablet's stats library: one Registry of counters,
// gauges, timings and histograms, rendered two ways from the same values:
//
//   - /debug/vars (VarsHandler): one JSON object in the shape vttablet
//     exports (Queries, Results, Errors, QueryCounts, TransactionPool*, ...),
//     plus Go's standard "cmdline" (with secrets given by flag redacted,
//     see RedactArgs) and "memstats" variables, keys sorted;
//   - /metrics (MetricsHandler): Prometheus exposition from a private
//     prometheus.Registry, with Go runtime and process collectors, each
//     variable under an explicit Prometheus name and help sentence.
//
// Registries are instances, never package state: a process (or a test) may
// hold many, and nothing here touches expvar's or Prometheus's global
// registries.
//
// # Recording
//
// Recording is the hot path and takes no registry-wide lock. Plain values
// are single atomics. Labelled variables keep one cell per label
// combination; a lookup reads an immutable map published through an atomic
// pointer, so recording into an existing combination neither locks nor
// allocates. A caller that records the same combination many times can keep
// the handle (Handle methods) and skip the lookup altogether. Cells that
// recorders write are laid out so that unrelated ones never share a cache
// line. Conversion to JSON or to Prometheus samples happens only when a
// handler is read.
//
// # Shapes
//
// Timings and MultiTimings render as Vitess's Timings:
//
//	{"Histograms": {"PASS_SELECT": {"500000": 3, ..., "inf": 4, "Count": 4, "Time": 1234}},
//	 "TotalCount": 4, "TotalTime": 1234}
//
// Bucket keys are cutoffs in nanoseconds and counts are cumulative: the
// "500000" entry counts records of at most 500µs, and "inf" equals Count.
// Histogram (e.g. Results) uses the same cumulative buckets with "Count" and
// "Total". Labelled counters render as flat objects whose keys are the label
// values joined with "." ("users.PASS_SELECT"); with one label the key is
// the value itself ("Deadlock"). Durations render as integer nanoseconds.
//
// On /metrics, timings become histograms in seconds (buckets 0.0005 to 10),
// labelled variables carry their named labels, and durations are seconds.
//
// # Usage
//
//	r := debugvars.New()
//	queries := r.NewTimings("Queries", "tablet_queries_duration_seconds",
//		"Time spent serving queries, by plan.", "plan")
//	errs := r.NewCountersWithLabels("Errors", "tablet_errors_total",
//		"Query errors, by category.", []string{"category"})
//	deadlocks := errs.Handle("Deadlock") // declared: renders as 0 until used
//
//	start := time.Now()
//	// ... run the query ...
//	queries.Add("PASS_SELECT", start)
//	deadlocks.Add(1)
//
//	mux.Handle("/debug/vars", r.VarsHandler())
//	mux.Handle("/metrics", r.MetricsHandler())
//
// # Mistakes
//
// Registration happens at startup and its mistakes are the programmer's, so
// they panic with a message naming the variable: a name registered twice
// (or "cmdline"/"memstats"), a Prometheus name that breaks the conventions
// (not snake_case; a counter without "_total" or a gauge with it; a duration
// without "_seconds"), a help text that is not a sentence ending in ".",
// invalid or repeated label names. Recording panics only when given the
// wrong number of label values or a negative counter increment, as
// client_golang does.
package debugvars
