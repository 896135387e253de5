package health

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tabletd/tablet/mysqld"
)

// Querier runs a query on the local mysqld. *sql.DB and *sql.Conn satisfy
// it. The checker uses it as the dba user, which may read replication
// status (SLAVE MONITOR on MariaDB, REPLICATION CLIENT on MySQL) and
// _vt.heartbeat.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Observation is what one check of mysqld saw.
type Observation struct {
	// Unreachable is set when mysqld did not answer a trivial query (it
	// refused the connection, denied the user, or did not answer within
	// the probe timeout). Nothing else is set then.
	Unreachable error
	// Replication is the replica's status; nil when mysqld is not a
	// replica, or on a primary, where it is not read.
	Replication *mysqld.ReplicationStatus
	// ReplicationErr is set when the replication status could not be read.
	ReplicationErr error
	// Heartbeat is the newest heartbeat the replica has applied; zero when
	// heartbeats are off, on a primary, or when there is none (see
	// HeartbeatErr).
	Heartbeat time.Time
	// HeartbeatErr is set when the heartbeat could not be read for a
	// reason other than its absence; the checker then falls back to the
	// server's own lag figure.
	HeartbeatErr error
	// At is when the check completed; the checker sets it when zero.
	At time.Time
}

// Prober checks the local mysqld once. The checker is its only caller and
// never calls it concurrently. Probe bounds its work by ctx, which carries
// the probe timeout; replica says whether to read replication status and
// the heartbeat.
type Prober interface {
	Probe(ctx context.Context, replica bool) Observation
}

// SQLProber is the Prober that queries mysqld through a Querier. It learns
// the server's flavor from SELECT VERSION() on each check, so it follows a
// server that was upgraded under it. It is not safe for concurrent use: it
// serves one Checker.
type SQLProber struct {
	q         Querier
	heartbeat bool
	version   string // the last version seen
	flavor    mysqld.Flavor
}

// NewProber returns a Prober that runs its checks through q, reading
// _vt.heartbeat on replicas when cfg.HeartbeatEnable is set.
func NewProber(cfg Config, q Querier) *SQLProber {
	return &SQLProber{q: q, heartbeat: cfg.HeartbeatEnable}
}

// Probe checks mysqld: SELECT VERSION() (any error there is Unreachable),
// then on a replica its replication status and newest heartbeat.
func (p *SQLProber) Probe(ctx context.Context, replica bool) Observation {
	var obs Observation
	flavor, err := p.detect(ctx)
	if err != nil {
		obs.Unreachable = err
		return obs
	}
	if !replica {
		return obs
	}
	st, err := mysqld.ReadReplicationStatus(ctx, p.q, flavor)
	switch {
	case errors.Is(err, mysqld.ErrReplicationNotConfigured):
	case err != nil:
		obs.ReplicationErr = err
	default:
		obs.Replication = &st
	}
	if p.heartbeat {
		ts, err := mysqld.ReadHeartbeat(ctx, p.q)
		switch {
		case errors.Is(err, mysqld.ErrNoHeartbeat):
		case err != nil:
			obs.HeartbeatErr = err
		default:
			obs.Heartbeat = ts
		}
	}
	return obs
}

// detect asks the server's version and returns its flavor.
func (p *SQLProber) detect(ctx context.Context) (mysqld.Flavor, error) {
	rows, err := p.q.QueryContext(ctx, "SELECT VERSION()")
	if err != nil {
		return nil, fmt.Errorf("SELECT VERSION(): %w", err)
	}
	defer rows.Close()
	var version string
	if rows.Next() {
		err = rows.Scan(&version)
	} else if err = rows.Err(); err == nil {
		err = errors.New("no row")
	}
	if err != nil {
		return nil, fmt.Errorf("SELECT VERSION(): %w", err)
	}
	if version != p.version || p.flavor == nil {
		f, err := mysqld.ParseFlavor(version)
		if err != nil {
			return nil, err
		}
		p.version, p.flavor = version, f
	}
	return p.flavor, nil
}
