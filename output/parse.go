package output

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Kind is the kind of sink a Spec opens.
type Kind uint8

// Sink kinds.
const (
	KindStdout Kind = iota + 1
	KindFile
	KindWebhook
	KindElasticsearch
)

// Spec is a parsed --output value.
type Spec struct {
	Kind Kind
	// Path is the file of KindFile.
	Path string
	// File holds its rotation settings.
	File FileOptions
	// URL is the webhook URL, or the Elasticsearch base URL (without index); without
	// credentials either way.
	URL string
	// Index is the Elasticsearch index.
	Index string
	// Username and Password come from the URL's user information; they are sent as
	// basic authentication, never shown.
	Username, Password string
	// APIKeyEnv names an environment variable holding an Elasticsearch API key.
	APIKeyEnv string
	// DeadLetter, BatchSize and Retries tune the HTTP sinks (Retries < 0: the default).
	DeadLetter string
	BatchSize  int
	Retries    int
}

// Parse reads an --output value:
//
//   - or  stdout                        NDJSON on standard output
//     alerts.ndjson                        NDJSON appended to a file (any value without a known prefix)
//     file:alerts.ndjson?max-size=100MB&max-backups=3
//     the same, rotated before it passes 100 MiB
//     webhook:https://user:pass@host/path#dead-letter=dl.ndjson&retries=8&batch=500
//     JSON batches POSTed to the URL (user:pass@, optional, gives basic authentication)
//     es:http://user:pass@host:9200/index#api-key-env=ES_API_KEY&dead-letter=dl.ndjson
//     Elasticsearch _bulk into index (default .alerts-security.alerts-default)
//
// Sizes take a B, KB, MB or GB suffix (powers of 1024; KiB, MiB, GiB also accepted).
// Options of the HTTP sinks go in the URL fragment, which is never sent. The dead-letter
// file defaults to tripline-dead-letter.ndjson.
func Parse(spec string) (Spec, error) {
	switch {
	case spec == "":
		return Spec{}, fmt.Errorf("output: empty --output value")
	case spec == "-" || spec == "stdout":
		return Spec{Kind: KindStdout}, nil
	case strings.HasPrefix(spec, "file:"):
		path, query, _ := strings.Cut(strings.TrimPrefix(spec, "file:"), "?")
		if path == "" {
			return Spec{}, fmt.Errorf("output: %q: no file name after file:", spec)
		}
		s := Spec{Kind: KindFile, Path: path}
		q, err := url.ParseQuery(query)
		if err != nil {
			return Spec{}, fmt.Errorf("output: %q: %w", spec, err)
		}
		for k, v := range q {
			val := v[len(v)-1]
			switch k {
			case "max-size":
				if s.File.MaxSize, err = ParseSize(val); err != nil {
					return Spec{}, fmt.Errorf("output: %q: max-size: %w", spec, err)
				}
			case "max-backups":
				if s.File.MaxBackups, err = strconv.Atoi(val); err != nil || s.File.MaxBackups < 1 {
					return Spec{}, fmt.Errorf("output: %q: max-backups must be a whole number ≥ 1", spec)
				}
			default:
				return Spec{}, fmt.Errorf("output: %q: unknown file option %q (known: max-size, max-backups)", spec, k)
			}
		}
		return s, nil
	case strings.HasPrefix(spec, "webhook:"), strings.HasPrefix(spec, "es:"):
		kind, raw := KindWebhook, strings.TrimPrefix(spec, "webhook:")
		if strings.HasPrefix(spec, "es:") {
			kind, raw = KindElasticsearch, strings.TrimPrefix(spec, "es:")
		}
		spec := redactURL(spec) // shown in the messages below: without the password
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Spec{}, fmt.Errorf("output: %q: want an http:// or https:// URL with a host", spec)
		}
		s := Spec{Kind: kind, DeadLetter: "tripline-dead-letter.ndjson", Retries: -1}
		q, err := url.ParseQuery(u.Fragment)
		if err != nil {
			return Spec{}, fmt.Errorf("output: %q: options after #: %w", spec, err)
		}
		for k, v := range q {
			val := v[len(v)-1]
			switch {
			case k == "dead-letter":
				s.DeadLetter = val
			case k == "retries":
				if s.Retries, err = strconv.Atoi(val); err != nil || s.Retries < 0 {
					return Spec{}, fmt.Errorf("output: %q: retries must be a whole number ≥ 0", spec)
				}
			case k == "batch":
				if s.BatchSize, err = strconv.Atoi(val); err != nil || s.BatchSize < 1 {
					return Spec{}, fmt.Errorf("output: %q: batch must be a whole number ≥ 1", spec)
				}
			case k == "api-key-env" && kind == KindElasticsearch:
				s.APIKeyEnv = val
			default:
				return Spec{}, fmt.Errorf("output: %q: unknown option %q", spec, k)
			}
		}
		u.Fragment, u.RawFragment = "", ""
		if u.User != nil {
			s.Username = u.User.Username()
			s.Password, _ = u.User.Password()
			u.User = nil
		}
		if kind == KindElasticsearch {
			path := strings.Trim(u.Path, "/")
			if i := strings.LastIndexByte(path, '/'); i >= 0 {
				s.Index, u.Path = path[i+1:], "/"+path[:i]
			} else {
				s.Index, u.Path = path, ""
			}
			if s.Index == "" {
				s.Index = DefaultIndex
			}
			u.RawPath = ""
		}
		s.URL = u.String()
		return s, nil
	case strings.HasPrefix(spec, "http://"), strings.HasPrefix(spec, "https://"):
		return Spec{}, fmt.Errorf("output: %q: say where alerts go: webhook:%s or es:%s", spec, spec, spec)
	}
	return Spec{Kind: KindFile, Path: spec}, nil
}

// ParseSize reads a byte count such as 100MB, 512KiB or 1048576.
func ParseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "BbKkMmGgIi")
	unit := strings.ToUpper(s[len(num):])
	mult := map[string]int64{"": 1, "B": 1, "KB": 1 << 10, "KIB": 1 << 10, "K": 1 << 10,
		"MB": 1 << 20, "MIB": 1 << 20, "M": 1 << 20, "GB": 1 << 30, "GIB": 1 << 30, "G": 1 << 30}[unit]
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	switch {
	case mult != 0 && (errors.Is(err, strconv.ErrRange) && n > 0 || err == nil && n > math.MaxInt64/mult):
		return 0, fmt.Errorf("%q is too large: the most is %d bytes", s, int64(math.MaxInt64))
	case err != nil || mult == 0 || n <= 0:
		return 0, fmt.Errorf("%q is not a size such as 100MB", s)
	}
	return n * mult, nil
}

// Open opens the sink the spec describes; stdout is used for KindStdout.
func (s Spec) Open(stdout io.Writer) (Sink, error) {
	httpOpts := HTTPOptions{DeadLetter: s.DeadLetter, BatchSize: s.BatchSize}
	if s.Retries >= 0 {
		httpOpts.Backoff = DefaultBackoff()
		httpOpts.Backoff.Retries = s.Retries
	}
	switch s.Kind {
	case KindStdout:
		return NewStream(stdout, "stdout"), nil
	case KindFile:
		return OpenFile(s.Path, s.File)
	case KindWebhook:
		if s.Username != "" || s.Password != "" {
			httpOpts.Header = http.Header{"Authorization": {basicAuth(s.Username, s.Password)}}
		}
		return NewWebhook(s.URL, httpOpts)
	case KindElasticsearch:
		o := ElasticsearchOptions{HTTPOptions: httpOpts, Index: s.Index, Username: s.Username, Password: s.Password}
		if s.APIKeyEnv != "" {
			o.APIKey = os.Getenv(s.APIKeyEnv)
			if o.APIKey == "" {
				return nil, fmt.Errorf("output: environment variable %s (the Elasticsearch API key) is empty", s.APIKeyEnv)
			}
		}
		return NewElasticsearch(s.URL, o)
	}
	return nil, fmt.Errorf("output: spec has no kind")
}

// Open parses an --output value and opens its sink.
func Open(spec string, stdout io.Writer) (Sink, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	return s.Open(stdout)
}

// redactURL replaces the password of the URL in s (after "scheme://", before "@") with
// xxxxx, as url.URL.Redacted does, but works on text that does not parse as a URL too.
func redactURL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return s
	}
	return s[:i+3] + user + ":xxxxx" + rest[at:]
}
