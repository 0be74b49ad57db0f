package detect

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// objectHash returns what the npm package object-hash (v3, default options: SHA-1, hex,
// object keys sorted, arrays in order, types respected) gives for the JSON value v, as
// Kibana computes kibana.alert.instance.id. v holds what parseDocument gives: nil, bool,
// string, json.Number or float64, []any and map[string]any.
//
// object-hash serialises a value with its type, and a plain object with the members of
// its prototype chain: the first object met writes Object.prototype and the Object
// function in full, and every later one refers to them by their index in the list of
// objects and arrays met so far ("[CIRCULAR:n]").
func objectHash(v any) string {
	var h objectHasher
	h.value(v)
	sum := sha1.Sum([]byte(h.b.String()))
	return hex.EncodeToString(sum[:])
}

type objectHasher struct {
	b             strings.Builder
	seen          int // objects and arrays met (object-hash's context)
	proto, objFun int // their indexes in it; -1 before they are met
	init          bool
}

func (h *objectHasher) value(v any) {
	if !h.init {
		h.proto, h.objFun, h.init = -1, -1, true
	}
	switch x := v.(type) {
	case nil:
		h.b.WriteString("Null")
	case bool:
		h.b.WriteString("bool:" + strconv.FormatBool(x))
	case string:
		h.str(x)
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			h.str(string(x))
			return
		}
		h.b.WriteString("number:" + jsNumber(f))
	case float64:
		h.b.WriteString("number:" + jsNumber(x))
	case int:
		h.b.WriteString("number:" + strconv.Itoa(x))
	case []any:
		h.seen++
		h.b.WriteString("array:" + strconv.Itoa(len(x)) + ":")
		for _, e := range x {
			h.value(e)
		}
	case map[string]any:
		h.seen++
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		h.b.WriteString("object:" + strconv.Itoa(len(keys)+3) + ":")
		h.prototypeMembers(false)
		for _, k := range keys {
			h.str(k)
			h.b.WriteString(":")
			h.value(x[k])
			h.b.WriteString(",")
		}
	default:
		raw, _ := json.Marshal(x)
		h.str(string(raw))
	}
}

// prototypeMembers writes the prototype, __proto__ and constructor members object-hash
// adds before a plain object's own (ofProto: those of Object.prototype itself).
func (h *objectHasher) prototypeMembers(ofProto bool) {
	h.b.WriteString("string:9:prototype:Undefined,string:9:__proto__:")
	switch {
	case ofProto:
		h.b.WriteString("Null")
	case h.proto >= 0:
		h.str("[CIRCULAR:" + strconv.Itoa(h.proto) + "]")
	default:
		h.proto = h.seen
		h.seen++
		h.b.WriteString("object:3:")
		h.prototypeMembers(true)
	}
	h.b.WriteString(",string:11:constructor:fn:string:8:[native]string:20:function-name:Object")
	if h.objFun >= 0 {
		h.str("[CIRCULAR:" + strconv.Itoa(h.objFun) + "]")
	} else {
		h.objFun = h.seen
		h.seen++
		h.b.WriteString("object:0:")
	}
	h.b.WriteString(",")
}

// str writes a string with its length in UTF-16 code units, as JavaScript counts it.
func (h *objectHasher) str(s string) {
	h.b.WriteString("string:" + strconv.Itoa(utf16Len(s)) + ":" + s)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// compareUTF16 orders strings as JavaScript's default sort does: by UTF-16 code units.
func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

// jsNumber formats f as JavaScript's Number.prototype.toString does.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e+21, 1.5e-07
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + string(sign) + exp
}
