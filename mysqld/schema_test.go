package mysqld

import (
	"strings"
	"testing"
)

func TestSchemaStatementsQuoteNames(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"show create", ShowCreateTable("vt_a`b", "t`1"), "SHOW CREATE TABLE `vt_a``b`.`t``1`"},
		{"create database", CreateDatabase("vt_commerce"), "CREATE DATABASE IF NOT EXISTS `vt_commerce`"},
		{"database exists", DatabaseExistsQuery("x'y"), `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'x\'y'`},
		{"table names", TableNamesQuery("d"), "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'd' ORDER BY TABLE_NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
	q := SchemaSignaturesQuery("it's")
	if strings.Count(q, `'it\'s'`) != 3 || strings.Contains(q, "it's'") {
		t.Errorf("signature query does not quote the database name in its three places: %s", q)
	}
}

func TestParseUDFReturn(t *testing.T) {
	for in, want := range map[string]UDFReturn{"string": UDFString, "0": UDFString, "REAL": UDFReal, "2": UDFInteger, "4": UDFDecimal} {
		if got, err := ParseUDFReturn(in); err != nil || got != want {
			t.Errorf("ParseUDFReturn(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseUDFReturn("3"); err == nil {
		t.Error(`ParseUDFReturn("3") (ROW_RESULT) succeeded`)
	}
}
