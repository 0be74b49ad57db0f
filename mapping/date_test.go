package mapping

import (
	"testing"

	"github.com/tripline/tripline/event"
)

func TestParseDate(t *testing.T) {
	const sec = int64(1e9)
	tests := []struct {
		in     event.Value
		format string
		want   int64 // nanoseconds, when the instant is within int64 nanoseconds
		ok     bool
	}{
		{s("2017-08-30T20:47:33Z"), "", 1504126053 * sec, true},
		{s("2017-08-30T20:47:33.5Z"), "", 1504126053*sec + 500_000_000, true},
		{s("2017-08-30T20:47:33.123456789Z"), "", 1504126053*sec + 123456789, true},
		{s("2017-08-30T20:47:33.1234567891Z"), "", 0, false},
		{s("2017-08-30T20:47:33,25Z"), "", 1504126053*sec + 250_000_000, true},
		{s("2017-08-30T22:47:33+02:00"), "", 1504126053 * sec, true},
		{s("2017-08-30T22:47:33+0200"), "", 1504126053 * sec, true},
		{s("2017-08-30T22:47:33+02"), "", 1504126053 * sec, true},
		{s("2017-08-30T15:47:33-05:00"), "", 1504126053 * sec, true},
		{s("2017-08-30T20:47:33"), "", 1504126053 * sec, true},
		{s("2017-08-30T20:47"), "", 1504126020 * sec, true},
		{s("2017-08-30T20"), "", 1504123200 * sec, true},
		{s("2017-08-30"), "", 1504051200 * sec, true},
		{s("2017-08"), "", 1501545600 * sec, true},
		{s("2017"), "", 1483228800 * sec, true},
		{s("2017-02-29"), "", 0, false},
		{s("2017-13-01"), "", 0, false},
		{s("2017-08-30 20:47:33"), "", 0, false},
		{s("17-08-30"), "", 0, false},
		{s("2017-08-30T24:00:00Z"), "", 0, false},
		{i(1516116808349), "", 1516116808349_000_000, true},
		{s("1516116808349"), "", 1516116808349_000_000, true},
		{s("-1"), "", -1_000_000, true},
		{s("1.5"), "", 1_500_000, true},
		{fl(1.5), "epoch_millis", 1_500_000, true},
		{i(1516116808), "epoch_second", 1516116808 * sec, true},
		{s("1516116808.25"), "epoch_second", 1516116808*sec + 250_000_000, true},
		{s("2017-08-30T20:47:33Z"), "epoch_millis", 0, false},
		{s("12-12-2022"), "dd-MM-yyyy", 1670803200 * sec, true},
		{s("2022-12-13"), "yyyy-MM-dd", 1670889600 * sec, true},
		{s("2022-12-13 10:11:12"), "yyyy-MM-dd HH:mm:ss", 1670926272 * sec, true},
		{s("2022-12-13T10:11:12.345+01:00"), "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", 1670922672*sec + 345_000_000, true},
		{s("20221213"), "basic_date", 1670889600 * sec, true},
		{s("2022-12-13"), "strict_date", 1670889600 * sec, true},
		{s("1/2/2022 3:04:05 PM"), "M/d/yyyy h:mm:ss a", 1641135845 * sec, true},
		{s("13-12-2022"), "yyyy-MM-dd||dd-MM-yyyy", 1670889600 * sec, true},
		{s("2022-12-13"), "dd-MM-yyyy", 0, false},
		{s("2017-08-30T20:47:33Z"), "strict_date_time", 1504126053 * sec, true},
		{s("2017-08-30"), "strict_date_time", 0, false},
		{b(true), "", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in, tt.format)
		if ok != tt.ok || got != event.InstantOfNanos(tt.want) && tt.ok {
			t.Errorf("ParseDate(%+v, %q) = %v %v, want %v %v", tt.in, tt.format, got, ok, event.InstantOfNanos(tt.want), tt.ok)
		}
	}
}

// TestParseDateRange: a date field holds any instant a long of milliseconds counts, beyond
// the 1677-2262 of int64 nanoseconds.
func TestParseDateRange(t *testing.T) {
	tests := []struct {
		in     event.Value
		format string
		ms     int64
		nanos  int32
	}{
		{s("9999-12-31T23:59:59.999Z"), "", 253402300799999, 0},
		{s("9999-12-31T23:59:59.999999999Z"), "", 253402300799999, 999999},
		{s("1000-01-01"), "", -30610224000000, 0},
		{s("0001-01-01T00:00:00Z"), "", -62135596800000, 0},
		{s("0000-01-01"), "", -62167219200000, 0},
		{s("0000-02-29"), "", -62162121600000, 0}, // year 0 is a leap year
		{s("1600-03-01"), "", -11670912000000, 0},
		{s("1677-09-21T00:12:43.145224191Z"), "", -9223372036855, 224191}, // 1 ns before int64 nanoseconds
		{s("2262-04-11T23:47:16.854775808Z"), "", 9223372036854, 775808},
		{s("1969-12-31T23:59:59.9999995Z"), "", -1, 999500},
		{i(131485997150000000), "", 131485997150000000, 0}, // a FILETIME read as milliseconds
		{i(-62135596800000), "epoch_millis", -62135596800000, 0},
		{s("-1.5"), "", -2, 500000},
		{s("-0.000001"), "", -1, 999999},
		{fl(-1.25), "", -2, 750000},
		{i(-62135596800), "epoch_second", -62135596800000, 0},
		{s("-1.000000001"), "epoch_second", -1001, 999999},
		{s("31-12-9999"), "dd-MM-yyyy", 253402214400000, 0},
		{s("12/31/0999"), "MM/dd/yyyy", -30610310400000, 0},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in, tt.format)
		if want := (event.Instant{Ms: tt.ms, Nanos: tt.nanos}); !ok || got != want {
			t.Errorf("ParseDate(%+v, %q) = %+v %v, want %+v", tt.in, tt.format, got, ok, want)
		}
	}
	for _, bad := range []event.Value{s("10000-01-01"), s("9999-12-32"), i(9223372036854775807)} {
		if got, ok := ParseDate(bad, "epoch_second||strict_date_optional_time"); ok {
			t.Errorf("ParseDate(%+v) = %+v, want no date", bad, got)
		}
	}
}

// TestNormalizeDateRange: date keeps milliseconds of any year, date_nanos only 1970 to
// 2262 (a non-negative long of nanoseconds), as Elasticsearch.
func TestNormalizeDateRange(t *testing.T) {
	date, nanos := Field{Type: Date}, Field{Type: DateNanos}
	tests := []struct {
		f    Field
		in   string
		want int64
		ok   bool
	}{
		{date, "9999-12-31T23:59:59.999Z", 253402300799999, true},
		{date, "1000-01-01", -30610224000000, true},
		{date, "2017-08-30T20:47:33.123456789Z", 1504126053123, true},
		{date, "1969-12-31T23:59:59.9999Z", -1, true},
		{nanos, "2017-08-30T20:47:33.123456789Z", 1504126053123456789, true},
		{nanos, "1970-01-01T00:00:00Z", 0, true},
		{nanos, "1969-12-31T23:59:59.999999999Z", 0, false},
		{nanos, "2262-04-11T23:47:16.854775807Z", 9223372036854775807, true},
		{nanos, "2262-04-11T23:47:16.854775808Z", 0, false},
		{nanos, "9999-12-31", 0, false},
	}
	for _, tt := range tests {
		nv, ok := tt.f.Normalize(s(tt.in))
		if ok != tt.ok || ok && nv.Int != tt.want {
			t.Errorf("%s Normalize(%q) = %d %v, want %d %v", tt.f.Type, tt.in, nv.Int, ok, tt.want, tt.ok)
		}
	}
}

// TestDynamicType checks dynamic date detection: a string is a date when one of the
// dynamic formats reads it, whether or not the four-digit shortcut applies.
func TestDynamicType(t *testing.T) {
	tests := []struct {
		in   string
		want Type
	}{
		{"2017-08-30T20:47:33Z", Date},
		{"2017-08-30", Date},
		{"2017", Date},
		{"2017/08/30 20:47:33 +0000", Date},
		{"2017/08/30 +0000", Date},
		{"20170830", Text},
		{"201", Text},
		{"17-08-30", Text},
		{"+2017-08-30", Text},
		{" 2017-08-30", Text},
		{"x2017-08-30", Text},
		{"2017x", Text},
		{"powershell.exe", Text},
		{"", Text},
	}
	for _, tc := range tests {
		if got := DynamicType(s(tc.in)); got != tc.want {
			t.Errorf("DynamicType(%q) = %v, want %v", tc.in, got, tc.want)
		}
		_, isDate := ParseDate(s(tc.in), dynamicDateFormats)
		if isDate != (tc.want == Date) {
			t.Errorf("ParseDate(%q) = %v, disagreeing with the table", tc.in, isDate)
		}
	}
}
