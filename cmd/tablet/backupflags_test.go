package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBackupFlagErrors(t *testing.T) {
	valid := []string{"--tablet-path=zone1-100", "--init_keyspace=commerce", "--init_shard=0",
		"--topo_global_server_address=127.0.0.1:2379", "--topo_global_root=/vitess/global"}
	with := func(extra ...string) []string { return append(append([]string{}, valid...), extra...) }
	tests := []struct {
		name, stderr string
		args         []string
	}{
		{"bad storage scheme", `--backup_storage_url="ftp://b": scheme "ftp"`, with("--backup_storage_url=ftp://b")},
		{"credentials in the URL", "credentials do not belong in the URL", with("--backup_storage_url=s3://key:secret@bucket")},
		{"builtin engine", `--backup_engine_implementation="builtin" is not implemented`, with("--backup_engine_implementation=builtin")},
		{"tar stream", "--xtrabackup_stream_mode=tar is not supported", with("--xtrabackup_stream_mode=tar")},
		{"bad compression", `--compression-engine-name="lz4"`, with("--compression-engine-name=lz4")},
		{"negative retention", "--backup_retention_count=-1", with("--backup_retention_count=-1")},
		{"restore without storage", "--restore_from_backup needs --backup_storage_url", with("--restore_from_backup")},
		{"restore without start command", "--restore_from_backup needs --mysqld-start-command",
			with("--restore_from_backup", "--backup_storage_url=file:///b")},
		{"bad restore time", `--restore_from_backup_ts="yesterday"`, with("--restore_from_backup_ts=yesterday")},
		{"negative catch-up", "--restore-catch-up-timeout=-1s", with("--restore-catch-up-timeout=-1s")},
		{"negative control timeout", "--mysqld-control-timeout=-1s", with("--mysqld-control-timeout=-1s")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("run(%q) = %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.stderr)
			}
		})
	}
}

func TestBackupFlagsFillConfig(t *testing.T) {
	cfg := defaultConfig()
	fs := newFlagSet("tablet")
	cfg.bind(fs)
	err := fs.parse([]string{"--tablet-path=zone1-100", "--init_keyspace=commerce", "--init_shard=0",
		"--topo_global_server_address=127.0.0.1:2379", "--topo_global_root=/vitess/global",
		"--backup_storage_url=s3://bucket?region=us-east-1&endpoint=http://127.0.0.1:9000", "--backup-engine-implementation=mariabackup",
		"--xtrabackup_backup_flags=--slave-info --safe-slave-backup", "--backup_retention_count=3", "--backup-retention-age=72h",
		"--restore_from_backup", "--restore_from_backup_ts=2024-05-06.070809", "--mysqld-start-command=systemctl start mariadb",
		"--mycnf_data_dir=/var/lib/mysql"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	b, r := cfg.backup, cfg.agent.Restore
	if b.Engine != "mariabackup" || b.BackupFlags != "--slave-info --safe-slave-backup" || b.RetentionCount != 3 ||
		b.RetentionAge != 72*time.Hour || !r.FromBackup || !r.BackupTime.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) ||
		cfg.local.dataDir != "/var/lib/mysql" || cfg.local.control.StartCommand != "systemctl start mariadb" {
		t.Errorf("config after the backup flags: %+v, restore %+v, local %+v", b, r, cfg.local)
	}
	attrs := fmt.Sprint(cfg.logAttrs()...)
	if strings.Contains(attrs, "region=") || strings.Contains(attrs, "systemctl") || !strings.Contains(attrs, "s3://bucket") {
		t.Errorf("start-up log attributes show the URL's query or the commands, or lack the bucket: %s", attrs)
	}
}
