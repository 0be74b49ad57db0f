// Command tripline runs Elastic Security EQL detection rules over security events, outside
// Elasticsearch, with Elasticsearch's answers.
//
// See `tripline --help` and the README for the commands.
package main
