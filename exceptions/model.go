package exceptions

import (
	"fmt"
	"time"
)

// Source says where a list or item was read from: a file and a line in it.
type Source struct {
	Path string
	Line int
}

// String returns "path:line".
func (s Source) String() string { return fmt.Sprintf("%s:%d", s.Path, s.Line) }

// List is an exception list container. Lists are identified by ListID within their
// NamespaceType ("single": one Kibana space; "agnostic": every space).
type List struct {
	ID            string   `json:"id"`
	ListID        string   `json:"list_id"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	NamespaceType string   `json:"namespace_type"`
	Type          string   `json:"type"`
	OSTypes       []string `json:"os_types"`
	Tags          []string `json:"tags"`
	Immutable     bool     `json:"immutable"`

	Source Source `json:"-"`
}

// Item is an exception list item: it excludes an event when all its entries match it
// (and, with OSTypes, the event's host OS is one of them).
type Item struct {
	ID            string   `json:"id"`
	ItemID        string   `json:"item_id"`
	ListID        string   `json:"list_id"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	NamespaceType string   `json:"namespace_type"`
	Type          string   `json:"type"`
	Entries       []Entry  `json:"entries"`
	OSTypes       []string `json:"os_types"`
	Tags          []string `json:"tags"`
	// ExpireTime, when set, is when the item stops applying: Kibana leaves it out of the
	// executions that start after it.
	ExpireTime *time.Time `json:"expire_time,omitempty"`

	Source Source `json:"-"`
}

// Entry types.
const (
	TypeMatch    = "match"
	TypeMatchAny = "match_any"
	TypeWildcard = "wildcard"
	TypeExists   = "exists"
	TypeList     = "list"
	TypeNested   = "nested"
)

// Operators: an entry matches what its condition matches ("included") or the opposite
// ("excluded").
const (
	Included = "included"
	Excluded = "excluded"
)

// Entry is one condition of an item. Which fields are set depends on Type: Value for
// match and wildcard, Values for match_any, List for list, Entries for nested (Field is
// then the nested path, and the entries' fields are relative to it); nested entries have
// no Operator.
type Entry struct {
	Field    string
	Type     string
	Operator string
	Value    string
	Values   []string
	List     *ValueList
	Entries  []Entry
}

// ValueList is a reference to a Kibana value list (a large list of keywords, ips or ip
// ranges uploaded apart from exception lists).
type ValueList struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Expired reports whether the item no longer applies to an execution started at t
// (Kibana: expire_time before the execution's start).
func (it *Item) Expired(t time.Time) bool {
	return it.ExpireTime != nil && it.ExpireTime.Before(t)
}
