package queryserver

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"

	// The parser needs a driver for literal values; the test driver is
	// its own standalone one and pulls in none of TiDB's engine.
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// PlanType is the kind of a statement, which decides the pool, whether it
// may be consolidated, where it may run and the statistics it is counted
// under (the "plan" label of Queries, QueryCounts and the like).
type PlanType uint8

// The plan types. Their names (String) are vttablet's where vttablet has
// one.
const (
	PlanSelect        PlanType = iota // PASS_SELECT: a read without locks
	PlanSelectLock                    // SELECT_LOCK: SELECT ... FOR UPDATE / LOCK IN SHARE MODE
	PlanSelectSession                 // SELECT_SESSION: a read that changes session state (GET_LOCK, @var :=, INTO @var)
	PlanInsert                        // INSERT: INSERT and REPLACE
	PlanUpdate                        // UPDATE
	PlanDelete                        // DELETE
	PlanDDL                           // DDL: CREATE, ALTER, DROP, RENAME, TRUNCATE ...
	PlanSet                           // SET: session variables, SET NAMES, SET ROLE
	PlanOtherRead                     // OTHER_READ: SHOW, DESCRIBE, EXPLAIN, HELP, DO
	PlanOtherAdmin                    // OTHER_ADMIN: ANALYZE, OPTIMIZE, FLUSH, GRANT, KILL, anything else
	PlanSavepoint                     // SAVEPOINT
	PlanRelease                       // RELEASE: RELEASE SAVEPOINT
	PlanSRollback                     // SROLLBACK: ROLLBACK TO SAVEPOINT
	PlanLockTables                    // LOCK_TABLES
	PlanUnlockTables                  // UNLOCK_TABLES
	PlanCallProc                      // CALL_PROC
	PlanLoad                          // LOAD: LOAD DATA
	PlanUse                           // USE: changes the default database
	PlanPrepare                       // PREPARE: PREPARE, EXECUTE, DEALLOCATE PREPARE
	PlanTransaction                   // TRANSACTION: BEGIN, START TRANSACTION, COMMIT, ROLLBACK
	numPlanTypes
)

var planTypeNames = [numPlanTypes]string{
	"PASS_SELECT", "SELECT_LOCK", "SELECT_SESSION", "INSERT", "UPDATE", "DELETE", "DDL", "SET",
	"OTHER_READ", "OTHER_ADMIN", "SAVEPOINT", "RELEASE", "SROLLBACK", "LOCK_TABLES",
	"UNLOCK_TABLES", "CALL_PROC", "LOAD", "USE", "PREPARE", "TRANSACTION",
}

// String returns the plan type's name, such as "PASS_SELECT".
func (t PlanType) String() string {
	if t < numPlanTypes {
		return planTypeNames[t]
	}
	return fmt.Sprintf("PlanType(%d)", t)
}

// returnsRows reports whether statements of this type are run as queries
// (reading a result set) rather than executed (reading rows affected and
// the insert id).
func (t PlanType) returnsRows() bool {
	switch t {
	case PlanSelect, PlanSelectLock, PlanSelectSession, PlanOtherRead, PlanCallProc:
		return true
	}
	return false
}

// Plan is what the engine knows about one statement text: its type, the
// tables it names, its normalized form and where its bind variable
// references are. Plans are built once per distinct text and cached; a
// Plan is immutable after it is built, except for its statistics, which are
// atomics. It is safe for concurrent use.
type Plan struct {
	// SQL is the statement as given, with its bind variable references:
	// the plan cache's key.
	SQL string
	// Type is the statement's kind.
	Type PlanType
	// Tables are the tables the statement names, "db.table" when
	// qualified, in order of first appearance, without CTE names.
	Tables []string
	// Normalized is the statement with literals and bind variables
	// replaced by "?" and lists by "(...)", keywords lowercased and
	// identifiers quoted: the key of per-query statistics (QueryStats).
	Normalized string
	// Parsed is false when the SQL parser could not parse the statement
	// (MariaDB-only syntax, for instance). Such a statement is classified
	// by its leading keywords, names no tables, is never consolidated,
	// and is left to MySQL to accept or refuse.
	Parsed bool
	// ParseError is the parser's complaint when Parsed is false.
	ParseError string

	placeholders []placeholder
	// needsReserved: the statement changes session state, so it may run
	// only on a reserved connection.
	needsReserved bool
	// temporary: CREATE/DROP TEMPORARY TABLE (a DDL that needs a
	// reserved connection but does not commit a transaction).
	temporary bool
	// intoFile: SELECT ... INTO OUTFILE/DUMPFILE, which writes on the
	// server and so is never consolidated.
	intoFile bool
	// statsTables are the table labels for statistics: Tables bounded by
	// the label limit, or one "" for a statement naming no table.
	statsTables []string

	stats planStats
}

// planStats are a plan's cumulative statistics, for QueryStats.
type planStats struct {
	count        atomic.Int64
	errors       atomic.Int64
	timeNanos    atomic.Int64
	mysqlNanos   atomic.Int64
	rowsReturned atomic.Int64
	rowsAffected atomic.Int64
}

func (s *planStats) record(d, mysqlTime time.Duration, returned, affected int64, failed bool) {
	s.count.Add(1)
	s.timeNanos.Add(int64(d))
	if mysqlTime > 0 {
		s.mysqlNanos.Add(int64(mysqlTime))
	}
	if returned > 0 {
		s.rowsReturned.Add(returned)
	}
	if affected > 0 {
		s.rowsAffected.Add(affected)
	}
	if failed {
		s.errors.Add(1)
	}
}

// consolidatable reports whether the plan's statements may share an
// execution with identical ones in flight.
func (p *Plan) consolidatable() bool {
	return p.Type == PlanSelect && p.Parsed && !p.needsReserved && !p.intoFile
}

// parserPool holds TiDB parsers, which are not safe for concurrent use and
// cost a few allocations to build.
var parserPool = sync.Pool{New: func() any { return parser.New() }}

// BuildPlan parses sql and returns its plan, uncached. It fails with an
// error wrapping ErrSyntax when sql is empty or holds more than one
// statement; a statement the parser cannot parse still gets a plan (see
// Plan.Parsed). It is safe for concurrent use.
func BuildPlan(sql string) (*Plan, error) {
	phs, parseText := scanPlaceholders(sql)
	if len(leadingKeywords(parseText, 1)) == 0 && strings.TrimSpace(stripComments(parseText)) == "" {
		return nil, errorf(CodeInvalidArgument, ErrSyntax, "empty statement")
	}
	p := &Plan{SQL: sql, placeholders: phs}
	p.Normalized = normalize(parseText)

	if err := parseInto(p, parseText); err != nil {
		return nil, err
	}
	return p, nil
}

// parseInto parses text and classifies p from the statement, or by its
// leading keywords if the parser cannot read it. The syntax tree lives in
// the parser's memory, reused by its next parse, so classification happens
// before the parser goes back to the pool. A panic inside the parser
// counts as a parse failure.
func parseInto(p *Plan, text string) error {
	ps := parserPool.Get().(*parser.Parser)
	stmts, perr := safeParse(ps, text)
	if !errors.Is(perr, errParserPanic) {
		defer parserPool.Put(ps) // a parser that panicked is dropped
	}
	switch {
	case perr != nil:
		p.ParseError = perr.Error()
		classifyByKeywords(p, leadingKeywords(text, 4))
	case len(stmts) == 0:
		return errorf(CodeInvalidArgument, ErrSyntax, "empty statement")
	case len(stmts) > 1:
		return errorf(CodeInvalidArgument, ErrSyntax, "%d statements in one query; send one statement per request", len(stmts))
	default:
		p.Parsed = true
		classify(p, stmts[0])
	}
	return nil
}

var errParserPanic = errors.New("sql parser panicked")

// safeParse runs the parser, turning a panic into an error.
func safeParse(ps *parser.Parser, text string) (stmts []ast.StmtNode, err error) {
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, fmt.Errorf("%w: %v", errParserPanic, r)
		}
	}()
	stmts, _, err = ps.Parse(text, "", "")
	return stmts, err
}

// normalize returns the parser's normalized form of text, or the trimmed
// text itself if normalizing fails.
func normalize(text string) (out string) {
	defer func() {
		if recover() != nil {
			out = strings.TrimSpace(text)
		}
	}()
	out = parser.Normalize(text, "ON")
	if out == "" {
		out = strings.TrimSpace(text)
	}
	return out
}

// stripComments is text without its comments, to tell an empty statement
// from one the keyword scanner cannot read.
func stripComments(text string) string {
	var b strings.Builder
	i := 0
	for i < len(text) {
		switch c := text[i]; {
		case c == '#' || c == '-' && isDashComment(text, i):
			i = skipLine(text, i)
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			i += 2 + end + 2
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(text, i)
			b.WriteString(text[i:j])
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// classify sets the plan's type, tables and session flags from the parsed
// statement.
func classify(p *Plan, stmt ast.StmtNode) {
	v := &planVisitor{ctes: map[string]bool{}}
	stmt.Accept(v)
	p.Tables = v.tables

	switch s := stmt.(type) {
	case *ast.SelectStmt:
		p.Type = PlanSelect
		if s.LockInfo != nil && s.LockInfo.LockType != ast.SelectLockNone {
			p.Type = PlanSelectLock
		}
		if s.SelectIntoOpt != nil {
			v.session = v.session || s.SelectIntoOpt.Tp == ast.SelectIntoVars
			p.intoFile = s.SelectIntoOpt.Tp != ast.SelectIntoVars
		}
	case *ast.SetOprStmt:
		p.Type = PlanSelect
		if v.locks {
			p.Type = PlanSelectLock
		}
	case *ast.InsertStmt:
		p.Type = PlanInsert
	case *ast.UpdateStmt:
		p.Type = PlanUpdate
	case *ast.DeleteStmt:
		p.Type = PlanDelete
	case *ast.SetStmt, *ast.SetRoleStmt, *ast.SetSessionStatesStmt, *ast.SetResourceGroupStmt:
		p.Type = PlanSet
	case *ast.ShowStmt, *ast.ExplainStmt, *ast.ExplainForStmt, *ast.HelpStmt, *ast.TraceStmt:
		p.Type = PlanOtherRead
	case *ast.DoStmt:
		p.Type = PlanOtherRead
	case *ast.UseStmt:
		p.Type = PlanUse
	case *ast.BeginStmt, *ast.CommitStmt:
		p.Type = PlanTransaction
	case *ast.RollbackStmt:
		p.Type = PlanTransaction
		if s.SavepointName != "" {
			p.Type = PlanSRollback
		}
	case *ast.SavepointStmt:
		p.Type = PlanSavepoint
	case *ast.ReleaseSavepointStmt:
		p.Type = PlanRelease
	case *ast.LockTablesStmt:
		p.Type = PlanLockTables
	case *ast.UnlockTablesStmt:
		p.Type = PlanUnlockTables
	case *ast.CallStmt:
		p.Type = PlanCallProc
	case *ast.LoadDataStmt:
		p.Type = PlanLoad
	case *ast.PrepareStmt, *ast.ExecuteStmt, *ast.DeallocateStmt:
		p.Type = PlanPrepare
	case *ast.CreateTableStmt:
		p.Type = PlanDDL
		p.temporary = s.TemporaryKeyword != ast.TemporaryNone
	case *ast.DropTableStmt:
		p.Type = PlanDDL
		p.temporary = s.TemporaryKeyword != ast.TemporaryNone
	case ast.DDLNode:
		p.Type = PlanDDL
	default:
		p.Type = PlanOtherAdmin
	}
	if v.session && p.Type == PlanSelect || v.session && p.Type == PlanSelectLock || v.session && p.Type == PlanOtherRead {
		p.Type = PlanSelectSession
	}
	p.needsReserved = sessionChanging(p.Type) || p.temporary || v.session
}

// sessionChanging reports whether statements of type t always change the
// connection's session state.
func sessionChanging(t PlanType) bool {
	switch t {
	case PlanSet, PlanUse, PlanLockTables, PlanUnlockTables, PlanPrepare, PlanSelectSession:
		return true
	}
	return false
}

// classifyByKeywords sets the type of a statement the parser could not
// parse from its leading keywords.
func classifyByKeywords(p *Plan, kw []string) {
	first, second := "", ""
	if len(kw) > 0 {
		first = kw[0]
	}
	if len(kw) > 1 {
		second = kw[1]
	}
	switch first {
	case "SELECT", "WITH", "VALUES", "TABLE":
		p.Type = PlanSelect
	case "INSERT", "REPLACE":
		p.Type = PlanInsert
	case "UPDATE":
		p.Type = PlanUpdate
	case "DELETE":
		p.Type = PlanDelete
	case "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "HELP", "DO":
		p.Type = PlanOtherRead
	case "SET":
		p.Type = PlanSet
	case "USE":
		p.Type = PlanUse
	case "BEGIN", "START", "COMMIT", "XA":
		p.Type = PlanTransaction
	case "ROLLBACK":
		p.Type = PlanTransaction
		if second == "TO" || second == "WORK" && len(kw) > 2 && kw[2] == "TO" {
			p.Type = PlanSRollback
		}
	case "SAVEPOINT":
		p.Type = PlanSavepoint
	case "RELEASE":
		p.Type = PlanRelease
	case "LOCK":
		p.Type = PlanLockTables
	case "UNLOCK":
		p.Type = PlanUnlockTables
	case "CALL":
		p.Type = PlanCallProc
	case "LOAD":
		p.Type = PlanLoad
	case "PREPARE", "EXECUTE", "DEALLOCATE":
		p.Type = PlanPrepare
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE":
		p.Type = PlanDDL
		p.temporary = second == "TEMPORARY" || second == "OR" && len(kw) > 3 && kw[3] == "TEMPORARY"
	default:
		p.Type = PlanOtherAdmin
	}
	p.needsReserved = sessionChanging(p.Type) || p.temporary
}

// planVisitor collects the tables a statement names and notes locking
// reads and session side effects.
type planVisitor struct {
	tables  []string
	seen    map[string]bool
	ctes    map[string]bool
	locks   bool // a SELECT ... FOR UPDATE somewhere
	session bool // GET_LOCK and friends, or a user variable assignment
}

// sessionFuncs are functions whose effect outlives the statement on the
// connection.
var sessionFuncs = map[string]bool{
	"get_lock": true, "release_lock": true, "release_all_locks": true,
}

func (v *planVisitor) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.CommonTableExpression:
		v.ctes[x.Name.L] = true
	case *ast.TableName:
		if x.Schema.L == "" && v.ctes[x.Name.L] {
			break
		}
		name := x.Name.O
		if x.Schema.O != "" {
			name = x.Schema.O + "." + x.Name.O
		}
		if v.seen == nil {
			v.seen = map[string]bool{}
		}
		if !v.seen[name] {
			v.seen[name] = true
			v.tables = append(v.tables, name)
		}
	case *ast.SelectStmt:
		if x.LockInfo != nil && x.LockInfo.LockType != ast.SelectLockNone {
			v.locks = true
		}
	case *ast.FuncCallExpr:
		if sessionFuncs[x.FnName.L] {
			v.session = true
		}
	case *ast.VariableExpr:
		if !x.IsSystem && x.Value != nil {
			v.session = true
		}
	}
	return n, false
}

func (v *planVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }
