// Package rule reads Elastic Security detection rules into Rule values: the TOML files of
// elastic/detection-rules (one rule per file; a file or a directory tree) and the NDJSON that
// Kibana's rule export API writes (POST /api/detection_engine/rules/_export: one rule object
// per line, then a summary line).
//
// Load reads any mix of files and directories. A file that cannot be read or parsed is
// reported in Set.Errors with its path (and line, for NDJSON) and loading goes on. A rule that
// is not an EQL rule is listed once in Set.Skipped with its type and language (for example
// "query/kuery") and left out of Set.Rules, as is a second rule with a rule_id already loaded.
//
// The package only reads rules; it does not parse their queries (see package eql) nor run
// them (see package detect).
package rule
