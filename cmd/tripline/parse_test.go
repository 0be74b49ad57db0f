package main

import "testing"

func TestParse(t *testing.T) {
	runCLICases(t, []cliCase{
		{
			name:   "canonical",
			args:   []string{"parse", `process where process.name : "cmd.exe"`},
			stdout: "process where process.name : \"cmd.exe\"\n",
		},
		{
			name:   "canonical drops redundant parentheses, spaces and comments",
			args:   []string{"parse", `PROCESS where (process.name in ("a","b"))   and not x == 1 // c`},
			stdout: "PROCESS where process.name in (\"a\", \"b\") and not x == 1\n",
		},
		{
			name:   "sequence with pipe",
			args:   []string{"parse", "sequence by host.id with maxspan=1s\n  [process where true] by a\n  [network where true] by b\n| head 5"},
			stdout: "sequence by host.id with maxspan=1s [process where true] by a [network where true] by b | head 5\n",
		},
		{
			name: "json",
			args: []string{"parse", "--format", "json", "any where true"},
			stdout: `{
  "type": "statement",
  "query": {
    "type": "event",
    "pos": {
      "offset": 0,
      "line": 1,
      "column": 1
    },
    "any": true,
    "where": {
      "type": "literal",
      "pos": {
        "offset": 10,
        "line": 1,
        "column": 11
      },
      "kind": "boolean",
      "value": true
    }
  },
  "pipes": []
}
`,
		},
		{
			name:   "syntax error",
			args:   []string{"parse", `process where process.name == "a" and`},
			code:   exitUsage,
			stderr: "error: line 1:38: Unexpected end of query, expected an expression\nprocess where process.name == \"a\" and\n                                     ^\n",
		},
		{
			name:   "verifier error on the third line",
			args:   []string{"parse", "process where\n  process.name == \"a\" and\n  foo(x)"},
			code:   exitUsage,
			stderr: "error: line 3:3: Unknown function [foo]\n  foo(x)\n  ^\n",
		},
		{
			name: "several errors, each with its line and caret",
			args: []string{"parse", "process where foo(x) and\n  bar(y)"},
			code: exitUsage,
			stderr: "error: line 1:15: Unknown function [foo]\nprocess where foo(x) and\n              ^\n\n" +
				"error: line 2:3: Unknown function [bar]\n  bar(y)\n  ^\n",
		},
		{
			name:   "json format does not hide errors",
			args:   []string{"parse", "--format", "json", "process where"},
			code:   exitUsage,
			stderr: "error: line 1:14: Unexpected end of query, expected an expression\nprocess where\n             ^\n",
		},
		{
			name:   "unknown format",
			args:   []string{"parse", "--format", "xml", "any where true"},
			code:   exitUsage,
			stderr: "tripline: unknown --format \"xml\" (want eql or json)\n",
		},
		{
			name:   "no query",
			args:   []string{"parse"},
			code:   exitUsage,
			stderr: "tripline: accepts 1 arg(s), received 0\nRun 'tripline --help' for usage.\n",
		},
	})
}
