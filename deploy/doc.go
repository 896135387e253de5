// Package deploy holds no code: it is the home of the files operators run
// the tablet with (Prometheus rules, a Grafana dashboard, a systemd unit, a
// container image, a compose cluster, a Kubernetes sidecar) and of the
// tests that check them with the tools this machine has: promtool,
// systemd-analyze, the tablet binary's own flag list, YAML parsing, and a
// scrape of a live tablet for every metric name the rules and the
// dashboard use.
package deploy
