package eval

import (
	"cmp"
	"strings"
)

// compareVersions orders two values of Elasticsearch's version field type. Valid
// versions (numeric dot-separated parts, an optional "-pre.release" and an optional
// "+build") are ordered semantically: numeric parts numerically, a pre-release below
// its release, pre-release identifiers numerically when both are numeric, numeric
// below alphanumeric, otherwise by bytes, and more identifiers above fewer. Build
// metadata only breaks ties. Invalid versions sort after every valid version, among
// themselves by bytes. (Elasticsearch's VersionEncoder encodes versions so that the
// byte order of the encoding is this order; the conformance suite checks
// "1.11.3" > "1.5.0", "1.2.4-SNAPSHOT" < "1.5.0" and "bad" above all valid ones.)
func compareVersions(a, b string) int {
	va, vb := validVersion(a), validVersion(b)
	switch {
	case !va && !vb:
		return strings.Compare(a, b)
	case !va:
		return 1
	case !vb:
		return -1
	}
	a, ab := cutBuild(a)
	b, bb := cutBuild(b)
	ar, apre, aHasPre := strings.Cut(a, "-")
	br, bpre, bHasPre := strings.Cut(b, "-")
	if c := compareDotted(ar, br, true); c != 0 {
		return c
	}
	switch {
	case aHasPre && !bHasPre:
		return -1
	case !aHasPre && bHasPre:
		return 1
	case aHasPre:
		if c := compareDotted(apre, bpre, false); c != 0 {
			return c
		}
	}
	return strings.Compare(ab, bb)
}

func cutBuild(s string) (string, string) {
	v, b, _ := strings.Cut(s, "+")
	return v, b
}

// compareDotted compares dot-separated identifiers one by one. Numeric identifiers
// compare numerically (without allocating, whatever their length) and below
// alphanumeric ones; when one list is a prefix of the other, the longer one is greater.
func compareDotted(a, b string, numericOnly bool) int {
	for a != "" || b != "" {
		if a == "" {
			return -1
		}
		if b == "" {
			return 1
		}
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		xn, yn := isDigits(x), isDigits(y)
		var c int
		switch {
		case xn && yn:
			c = compareDigits(x, y)
		case xn:
			c = -1
		case yn:
			c = 1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	_ = numericOnly
	return 0
}

func compareDigits(x, y string) int {
	x = strings.TrimLeft(x, "0")
	y = strings.TrimLeft(y, "0")
	if len(x) != len(y) {
		return cmp.Compare(len(x), len(y))
	}
	return strings.Compare(x, y)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// validVersion reports whether s is a version Elasticsearch's version type accepts as
// valid: numeric parts separated by dots, then optionally "-" and dot-separated
// alphanumeric identifiers, then optionally "+" and build metadata.
func validVersion(s string) bool {
	s, build, hasBuild := strings.Cut(s, "+")
	if hasBuild {
		for part := range strings.SplitSeq(build, ".") {
			if !isIdent(part) {
				return false
			}
		}
	}
	rel, pre, hasPre := strings.Cut(s, "-")
	if rel == "" {
		return false
	}
	for part := range strings.SplitSeq(rel, ".") {
		if !isDigits(part) {
			return false
		}
	}
	if hasPre {
		for part := range strings.SplitSeq(pre, ".") {
			if !isIdent(part) {
				return false
			}
		}
	}
	return true
}
