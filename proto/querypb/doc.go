// Package querypb holds the Go types generated from proto/query.proto: the
// messages of the tablet query service (Target, BoundQuery, QueryResult,
// the request and response of each Query method) with Vitess's names and
// field numbers.
//
// The generated code is committed. Regenerate it with make proto; the doc
// of package github.com/tabletd/tablet/proto says how and what is checked.
package querypb
