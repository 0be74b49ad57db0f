package detect

import (
	"testing"
)

// TestObjectHash checks objectHash against the npm package object-hash 3.0.0: each want
// is what `require("object-hash")(JSON.parse(json))` printed under Node.
func TestObjectHash(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`[[{"field":"host.name","value":["h1"]},{"field":"user.name","value":null}],"rule-uuid","default"]`, "205f2e677c6793d943b1721f7eb25814fb102381"},
		{`[[{"field":"host.name","value":["h1"]}],"r","default"]`, "04016a2c4ecc8d2942f0e60792485aa076c00ab3"},
		{`[[{"field":"a","value":[1,2.5,-3,1e21,1e-7,0.1]},{"field":"b","value":true},{"field":"c","value":"é✓😀"}],"u","s"]`, "fa9321bbeac60131f7ad34237d767859dfcfea9c"},
		{`[[{"field":"x","value":{"k":[{"z":1}],"b":null}}],"u","s"]`, "970c48e0c3896aea21eb411408ade5a0e76e5893"},
	} {
		v, err := parseDocument([]byte(`{"v":` + tc.json + `}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := objectHash(v["v"]); got != tc.want {
			t.Errorf("objectHash(%s) = %s, want %s", tc.json, got, tc.want)
		}
	}
}
