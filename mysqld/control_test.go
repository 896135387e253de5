package mysqld

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// downConfig reaches a mysqld that is not there: a socket nobody listens
// on.
func downConfig(t *testing.T) Config {
	c := DefaultConfig()
	c.Socket = filepath.Join(t.TempDir(), "no.sock")
	return c
}

func TestControlStopAndStartWithoutServer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stopped := filepath.Join(dir, "stopped")
	tests := []struct {
		name    string
		c       Control
		start   bool
		wantErr string // empty: success
		check   func(t *testing.T)
	}{
		{name: "stop a mysqld that is down", c: Control{DB: downConfig(t)}},
		{name: "stop command runs even when down", c: Control{DB: downConfig(t), StopCommand: "touch " + stopped},
			check: func(t *testing.T) {
				if _, err := os.Stat(stopped); err != nil {
					t.Errorf("the stop command did not run: %v", err)
				}
			}},
		{name: "stop command fails", c: Control{DB: downConfig(t), StopCommand: "echo no permission >&2; exit 4"},
			wantErr: "--mysqld-stop-command \"echo no permission >&2; exit 4\": exit status 4; output ends:\nno permission"},
		{name: "start without command", c: Control{DB: downConfig(t)}, start: true, wantErr: "--mysqld-start-command is not set"},
		{name: "start command fails", c: Control{DB: downConfig(t), StartCommand: "echo cannot start; exit 1"}, start: true,
			wantErr: "output ends:\ncannot start"},
		{name: "mysqld never answers", c: Control{DB: downConfig(t), StartCommand: "true", Timeout: 300 * time.Millisecond}, start: true,
			wantErr: "succeeded but mysqld does not answer: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.start {
				err = tt.c.Start(ctx)
			} else {
				err = tt.c.Stop(ctx)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}
