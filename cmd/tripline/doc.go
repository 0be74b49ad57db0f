// Command tripline runs Elastic Security EQL detection rules over security events, outside
// Elasticsearch, with Elasticsearch's answers.
//
// See `tripline --help` and the README for the commands.
//
// Each command is a type xxxOptions, filled by the command's flags and arguments, whose run
// method turns them into the options of library code and calls it: ingest/source reads the
// input, engine runs a query (or traces a rule, for rules test), detect runs the rules and
// builds alerts, server serves the _bulk API, output delivers alerts. The newXxxCmd
// constructors only register flags and call run; flag groups shared by several commands
// are inputFlags and detectFlags.
package main
