-- Users of a tablet's MySQL 5.7 server, created by the mysql image on first
-- start. Not written to the binary log: every server creates them itself,
-- and a replica must hold no transactions of its own.
SET SESSION sql_log_bin = 0;

CREATE USER 'vt_app'@'%' IDENTIFIED BY 'app-password';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, FILE, REFERENCES, INDEX, ALTER,
  SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW,
  CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER ON *.* TO 'vt_app'@'%';

CREATE USER 'vt_appdebug'@'%' IDENTIFIED BY 'appdebug-password';
GRANT SELECT, SHOW DATABASES, PROCESS ON *.* TO 'vt_appdebug'@'%';

CREATE USER 'vt_dba'@'%' IDENTIFIED BY 'dba-password';
GRANT ALL PRIVILEGES ON *.* TO 'vt_dba'@'%' WITH GRANT OPTION;

CREATE USER 'vt_repl'@'%' IDENTIFIED BY 'repl-password';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'vt_repl'@'%';

CREATE USER 'vt_filtered'@'%' IDENTIFIED BY 'filtered-password';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, LOCK TABLES, REPLICATION SLAVE,
  REPLICATION CLIENT ON *.* TO 'vt_filtered'@'%';

-- Orchestrator's topology user (deploy/orchestrator/README.md).
CREATE USER 'orchestrator'@'%' IDENTIFIED BY 'orchestrator-password';
GRANT SUPER, PROCESS, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'orchestrator'@'%';

CREATE DATABASE IF NOT EXISTS _vt;
GRANT SELECT ON _vt.* TO 'orchestrator'@'%';
