// Package exceptions reads Kibana exception lists and turns the items that apply to a rule
// into the Elasticsearch query that excludes the events they describe.
//
// ReadNDJSON and Load read the NDJSON Kibana exports: the exception list API's export (POST
// /api/exception_lists/_export: a list object, its items, then a summary line) and the
// exception part of a rule export (POST /api/detection_engine/rules/_export), whose rule,
// connector and summary lines are passed over. Set.Resolve finds the items of the lists a
// rule's exceptions_list references; Filter builds from items the query Kibana's exception
// filter builder builds (an item is the AND of its entries, items are OR-ed), which a rule
// applies negated: Exclude wraps a query in bool.must_not of it.
//
// Large value lists (entries of type "list") are never exported with exception lists, so
// the package cannot apply them: Filter reports the items that have them as Unprocessed,
// with the reason, and leaves them out of the query.
package exceptions
