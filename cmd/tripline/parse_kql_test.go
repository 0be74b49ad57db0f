package main

import "testing"

func TestParseKQL(t *testing.T) {
	mappingFile := writeFile(t, t.TempDir(), "mapping.json",
		`{"properties":{"process":{"properties":{"name":{"type":"text"}}},"ts":{"type":"date"}}}`)
	runCLICases(t, []cliCase{
		{
			name:   "canonical",
			args:   []string{"parse", "--language", "kuery", `process.name : ( "cmd.exe" OR powershell.exe )  AND NOT user.name:SYSTEM`},
			stdout: "(process.name:\"cmd.exe\" or process.name:powershell.exe) and not user.name:SYSTEM\n",
		},
		{
			name:   "kql is an alias, and --format kql says the default",
			args:   []string{"parse", "--language", "kql", "--format", "kql", `a:b and (c:d or e:*)`},
			stdout: "a:b and (c:d or e:*)\n",
		},
		{
			name: "json",
			args: []string{"parse", "--language", "kuery", "--format", "json", `not a:"b"`},
			stdout: `{
  "type": "not",
  "pos": {
    "offset": 0,
    "line": 1,
    "column": 1
  },
  "arg": {
    "type": "is",
    "pos": {
      "offset": 4,
      "line": 1,
      "column": 5
    },
    "field": {
      "type": "literal",
      "pos": {
        "offset": 4,
        "line": 1,
        "column": 5
      },
      "kind": "string",
      "value": "a",
      "quoted": false
    },
    "value": {
      "type": "literal",
      "pos": {
        "offset": 6,
        "line": 1,
        "column": 7
      },
      "kind": "string",
      "value": "b",
      "quoted": true
    }
  }
}
`,
		},
		{
			name: "dsl with the built-in ECS mapping",
			args: []string{"parse", "--language", "kuery", "--format", "dsl", `process.name:cmd* and event.type:start`},
			stdout: `{
  "bool": {
    "filter": [
      {
        "bool": {
          "should": [
            {
              "wildcard": {
                "process.name": {
                  "value": "cmd*"
                }
              }
            }
          ],
          "minimum_should_match": 1
        }
      },
      {
        "bool": {
          "should": [
            {
              "term": {
                "event.type": {
                  "value": "start"
                }
              }
            }
          ],
          "minimum_should_match": 1
        }
      }
    ]
  }
}
`,
		},
		{
			name: "dsl with --mapping",
			args: []string{"parse", "--language", "kuery", "--format", "dsl", "--mapping", mappingFile, `process.name:cmd* or ts < 5 or ts > "now-1d"`},
			stdout: `{
  "bool": {
    "should": [
      {
        "bool": {
          "should": [
            {
              "query_string": {
                "fields": [
                  "process.name"
                ],
                "query": "cmd*"
              }
            }
          ],
          "minimum_should_match": 1
        }
      },
      {
        "bool": {
          "should": [
            {
              "range": {
                "ts": {
                  "lt": "5"
                }
              }
            }
          ],
          "minimum_should_match": 1
        }
      },
      {
        "bool": {
          "should": [
            {
              "range": {
                "ts": {
                  "gt": "now-1d",
                  "time_zone": "Zulu"
                }
              }
            }
          ],
          "minimum_should_match": 1
        }
      }
    ],
    "minimum_should_match": 1
  }
}
`,
		},
		{
			name:   "dsl of the empty query",
			args:   []string{"parse", "--language", "kuery", "--format", "dsl", "--mapping", "none", ""},
			stdout: "{\n  \"match_all\": {}\n}\n",
		},
		{
			name:   "syntax error",
			args:   []string{"parse", "--language", "kuery", `a:b:c`},
			code:   exitUsage,
			stderr: "error: line 1:4: Expected AND, OR, end of input, whitespace but \":\" found.\na:b:c\n---^\n",
		},
		{
			name:   "syntax error on the second line, dsl format",
			args:   []string{"parse", "--language", "kuery", "--format", "dsl", "a:b and\n  c:"},
			code:   exitUsage,
			stderr: "error: line 2:5: Expected \"(\", \"{\", value, whitespace but end of input found.\n  c:\n----^\n",
		},
		{
			name:   "unknown format",
			args:   []string{"parse", "--language", "kuery", "--format", "eql", "a:b"},
			code:   exitUsage,
			stderr: "tripline: unknown --format \"eql\" (want kql, json or dsl)\n",
		},
		{
			name:   "unknown language",
			args:   []string{"parse", "--language", "lucene", "a:b"},
			code:   exitUsage,
			stderr: "tripline: unknown --language \"lucene\" (want eql, kuery or kql)\n",
		},
		{
			name:   "missing mapping file",
			args:   []string{"parse", "--language", "kuery", "--format", "dsl", "--mapping", "/nonexistent/m.json", "a:b"},
			code:   exitUsage,
			stderr: "tripline: open /nonexistent/m.json: no such file or directory\n",
		},
	})
}
