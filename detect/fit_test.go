package detect

import (
	"encoding/json"
	"testing"
)

// TestFitSource checks what fitSource removes from a source with the ECS mapping, kind by
// kind, and that it leaves the source it was given (all but its top level) as it was.
func TestFitSource(t *testing.T) {
	tree := ecsTree()
	for _, tc := range []struct {
		name, src, want string
	}{
		{"no conflict", `{"host":{"name":"h","os":{"type":"linux"},"ip":["10.0.0.1","::1"]},"process":{"pid":12,"args":["a","b"]},"@timestamp":"2026-01-01T00:00:00Z"}`,
			`{"@timestamp":"2026-01-01T00:00:00Z","host":{"ip":["10.0.0.1","::1"],"name":"h","os":{"type":"linux"}},"process":{"args":["a","b"],"pid":12}}`},
		{"scalar where ECS maps an object", `{"host":{"os":"linux","name":"h"}}`, `{"host":{"name":"h"}}`},
		{"dotted scalar where ECS maps an object", `{"host.os":"linux","host.name":"h"}`, `{"host.name":"h"}`},
		{"object where ECS maps a scalar", `{"host":{"name":{"first":"h"},"id":"1"}}`, `{"host":{"id":"1"}}`},
		{"key through a scalar", `{"host.name.first":"h","host":{"name.x":1,"id":"1"}}`, `{"host":{"id":"1"}}`},
		{"bad ip", `{"source":{"ip":"not-an-ip","port":80}}`, `{"source":{"port":80}}`},
		{"ip forms Kibana takes and Elasticsearch does not", `{"source":{"ip":["127.1","fe80::1%eth0","10.0.0.1"]}}`, `{"source":{"ip":["10.0.0.1"]}}`},
		{"bad long", `{"process":{"pid":"abc","name":"x"}}`, `{"process":{"name":"x"}}`},
		{"longs that fit", `{"process":{"pid":["12","1e3","1.5",7.9,"",-3]}}`, `{"process":{"pid":["12","1e3","1.5",7.9,"",-3]}}`},
		{"longs that do not", `{"process":{"pid":["0x10","12 ","1e400",9223372036854775808,true,null,"NaN"]}}`, `{}`},
		{"floats (event.risk_score is a float: 1e39 overflows it)", `{"event":{"risk_score":["1.5"," 2 ","","x",1e39,"Infinity",3]}}`, `{"event":{"risk_score":["1.5"," 2 ","",3]}}`},
		{"booleans", `{"dll":{"code_signature":{"exists":[true,"false","","yes",1]}}}`, `{"dll":{"code_signature":{"exists":[true,"false",""]}}}`},
		{"dates", `{"event":{"created":["2026-01-01T00:00:00Z","2026-01-01",1767225600000,"1767225600000","","yesterday",false]}}`,
			`{"event":{"created":["2026-01-01T00:00:00Z","2026-01-01",1767225600000,"1767225600000"]}}`},
		{"null on typed and object fields, kept on keywords and unmapped fields", `{"process":{"pid":null,"name":null},"host":null,"foo":null}`,
			`{"foo":null,"process":{"name":null}}`},
		{"scalars in an array of objects", `{"dns":{"answers":[{"name":"a"},"b",null]}}`, `{"dns":{"answers":[{"name":"a"}]}}`},
		{"empty arrays and objects, also left empty", `{"tags":[],"labels":{},"foo":{"bar":[[]]},"host":{"os":"linux"},"x":1}`, `{"x":1}`},
		{"unmapped fields take anything", `{"foo":{"ip":"not-an-ip","pid":"abc"},"process":{"Ext":{"x":{"y":1}}}}`, `{"foo":{"ip":"not-an-ip","pid":"abc"},"process":{"Ext":{"x":{"y":1}}}}`},
		{"below a flattened field anything goes", `{"kubernetes":{"audit":{"requestObject":{"spec":{"volumes":{"hostPath":{"path":"/","type":{"deep":1}}}}}}}}`,
			`{"kubernetes":{"audit":{"requestObject":{"spec":{"volumes":{"hostPath":{"path":"/","type":{"deep":1}}}}}}}}`},
		{"multi-field keys run through their parent", `{"process":{"command_line":{"text":"x"},"name":"n"}}`, `{"process":{"name":"n"}}`},
		{"geo_point is not checked", `{"source":{"geo":{"location":"somewhere"}}}`, `{"source":{"geo":{"location":"somewhere"}}}`},
		{"kibana, signal and threshold_result at the top", `{"kibana":{"a":1},"kibana.alert.x":1,"signal":1,"threshold_result.count":2,"foo":{"kibana":1}}`, `{"foo":{"kibana":1}}`},
		{"metadata fields at the top", `{"_id":"x","_index":"i","_source":{},"_version":1,"_other":1,"foo":{"_id":1}}`, `{"_other":1,"foo":{"_id":1}}`},
		{"names Elasticsearch refuses", `{"":1,"a.":1,".a":1,"a..b":1," ":1,"a. .b":1,"ok":{"":1,"b":1}}`, `{"ok":{"b":1}}`},
	} {
		src, err := parseDocument([]byte(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		before, _ := json.Marshal(src)
		doc := make(document, len(src))
		for k, v := range src {
			doc[k] = v
		}
		tree.fitSource(doc)
		got, _ := json.Marshal(doc)
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if after, _ := json.Marshal(src); string(after) != string(before) {
			t.Errorf("%s: the source changed: %s, was %s", tc.name, after, before)
		}
	}
}
