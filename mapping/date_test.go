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
		want   int64
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
		{i(131485997150000000), "", 0, false}, // a FILETIME read as milliseconds: beyond int64 nanoseconds
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
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseDate(%+v, %q) = %d %v, want %d %v", tt.in, tt.format, got, ok, tt.want, tt.ok)
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
