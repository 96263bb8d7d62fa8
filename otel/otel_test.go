package sessionsotel_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessions"
	sessionsotel "github.com/sessionkit/sessions/otel"
	"github.com/sessionkit/sessions/store"
	"github.com/sessionkit/sessions/store/memstore"
)

type profile struct {
	Name   string
	Visits int
}

// faultStore is a memory store whose loads fail while down.
type faultStore struct {
	*memstore.Store
	down atomic.Bool
}

var errDown = errors.New("store is down")

func (s *faultStore) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	if s.down.Load() {
		return store.Loaded{}, errDown
	}
	return s.Store.LoadVersion(ctx, key, touch)
}

// setup is an instrumented manager on a memory store, with an in-memory
// metric reader and span recorder.
type setup struct {
	t      *testing.T
	mgr    *sessions.Manager[profile]
	st     *faultStore
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	mem, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	s := &setup{t: t, st: &faultStore{Store: mem}, reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	tel, err := sessionsotel.New(sessionsotel.WithMeterProvider(mp), sessionsotel.WithTracerProvider(s.tp))
	if err != nil {
		t.Fatal(err)
	}
	s.mgr, err = sessions.New[profile](
		sessions.WithManagedStore(tel.Store(s.st)),
		sessions.WithEvents(tel.Events),
		sessions.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.mgr.Close() })
	return s
}

// server serves h under otelhttp and returns a client with a cookie jar.
func (s *setup) server(h http.HandlerFunc) (*httptest.Server, *http.Client) {
	srv := httptest.NewServer(otelhttp.NewHandler(s.mgr.Middleware(h), "server", otelhttp.WithTracerProvider(s.tp)))
	s.t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	return srv, c
}

func (s *setup) get(c *http.Client, url string) int {
	s.t.Helper()
	res, err := c.Get(url)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// collect returns the metrics by name.
func (s *setup) collect() map[string]metricdata.Aggregation {
	s.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != sessionsotel.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

func key(set attribute.Set) string { return set.Encoded(attribute.DefaultEncoder()) }

// counters returns the values of the counter name by attribute set.
func counters(t *testing.T, metrics map[string]metricdata.Aggregation, name string) map[string]int64 {
	t.Helper()
	sum, ok := metrics[name].(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: %T, want an int64 counter", name, metrics[name])
	}
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		out[key(dp.Attributes)] = dp.Value
	}
	return out
}

// histogram returns the counts and sums of the histogram name by
// attribute set.
func histogram[N int64 | float64](t *testing.T, metrics map[string]metricdata.Aggregation, name string) (map[string]uint64, map[string]N) {
	t.Helper()
	h, ok := metrics[name].(metricdata.Histogram[N])
	if !ok {
		t.Fatalf("%s: %T, want a histogram", name, metrics[name])
	}
	counts, sums := map[string]uint64{}, map[string]N{}
	for _, dp := range h.DataPoints {
		counts[key(dp.Attributes)] = dp.Count
		sums[key(dp.Attributes)] = dp.Sum
	}
	return counts, sums
}

func wantMap[V comparable](t *testing.T, name string, got, want map[string]V) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", name, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", name, got, want)
			return
		}
	}
}

// The metrics of a new session, a read of it and two racing writes of it:
// store calls by operation and outcome, record sizes, events by kind,
// conflicts and retries, and loads.
func TestMetrics(t *testing.T) {
	s := newSetup(t)
	srv, c := s.server(func(w http.ResponseWriter, r *http.Request) {
		p := s.mgr.Get(r.Context())
		if r.URL.Path == "/visit" {
			p.Visits++
		}
	})
	s.get(c, srv.URL+"/visit") // a new session: one save_if
	s.get(c, srv.URL+"/read")  // one load_version
	u := srv.URL + "/"
	token := c.Jar.Cookies(mustURL(t, u))[0].Value
	id := idOf(token)
	size := recordSize(t, s.st.Store, id)

	// Two requests of the session at once: the second write conflicts,
	// merges and is tried again.
	a, b := load(t, s.mgr, token), load(t, s.mgr, token)
	s.mgr.Get(a).Visits++
	s.mgr.Get(b).Name = "b"
	commit(t, s.mgr, a)
	commit(t, s.mgr, b)

	m := s.collect()
	counts, sums := histogram[float64](t, m, "sessions.store.duration")
	wantMap(t, "store calls", counts, map[string]uint64{
		"sessions.store.operation=save_if,sessions.store.outcome=ok":       3,
		"sessions.store.operation=save_if,sessions.store.outcome=conflict": 1,
		// the read, the two Loads and the reload after the conflict
		"sessions.store.operation=load_version,sessions.store.outcome=ok": 4,
	})
	for k, sum := range sums {
		if sum <= 0 || sum > 1 {
			t.Errorf("store call durations %s: sum %v s", k, sum)
		}
	}
	sizeCounts, sizeSums := histogram[int64](t, m, "sessions.record.size")
	wantMap(t, "record sizes (counts)", sizeCounts, map[string]uint64{
		"sessions.store.operation=save_if":      3, // the writes that happened
		"sessions.store.operation=load_version": 4,
	})
	if got := sizeSums["sessions.store.operation=load_version"]; got < 3*int64(size) || got > 5*int64(size) {
		t.Errorf("sizes read: sum %d, want about 4 records of %d bytes", got, size)
	}
	wantMap(t, "events", counters(t, m, "sessions.events"), map[string]int64{
		"sessions.event.kind=loaded":                                     4,
		"sessions.event.kind=created":                                    1,
		"sessions.event.cause=merged,sessions.event.kind=write_conflict": 1,
	})
	wantMap(t, "conflicts", counters(t, m, "sessions.write.conflicts"), map[string]int64{"sessions.conflict.resolution=merged": 1})
	wantMap(t, "retries", counters(t, m, "sessions.write.retries"), map[string]int64{"sessions.conflict.resolution=merged": 1})
	wantMap(t, "loads", counters(t, m, "sessions.loads"), map[string]int64{
		"sessions.session.found=false": 1,
		"sessions.session.found=true":  3,
	})

	// A failed load: an error outcome with its type, and a load_failed
	// event.
	s.st.down.Store(true)
	if code := s.get(c, srv.URL+"/read"); code != http.StatusServiceUnavailable {
		t.Fatalf("read with the store down: %d", code)
	}
	s.st.down.Store(false)
	m = s.collect()
	counts, _ = histogram[float64](t, m, "sessions.store.duration")
	if n := counts["error.type=_OTHER,sessions.store.operation=load_version,sessions.store.outcome=error"]; n != 1 {
		t.Errorf("failed loads: %d in %v, want 1", n, counts)
	}
	if n := counters(t, m, "sessions.events")["sessions.event.kind=load_failed"]; n != 1 {
		t.Errorf("load_failed events: %d", n)
	}
}

// Store calls are spans under the request's span, with attributes that
// carry no token, key, ID or data; the request's span gets the session's
// events; a failed call is an error span.
func TestSpans(t *testing.T) {
	s := newSetup(t)
	srv, c := s.server(func(w http.ResponseWriter, r *http.Request) {
		p := s.mgr.Get(r.Context())
		if r.URL.Path == "/visit" {
			p.Visits++
			p.Name = "secret-data"
		}
	})
	s.get(c, srv.URL+"/visit")
	s.get(c, srv.URL+"/read")
	token := c.Jar.Cookies(mustURL(t, srv.URL+"/"))[0].Value
	id := idOf(token)
	size := recordSize(t, s.st.Store, id)

	spans := s.spans.Ended()
	var names []string
	for _, sp := range spans {
		names = append(names, sp.Name())
	}
	if strings.Join(names, " ") != "sessions.store.save_if GET sessions.store.load_version GET" {
		t.Fatalf("spans %q", names)
	}
	for i := 0; i < 4; i += 2 {
		store, server := spans[i], spans[i+1]
		if server.SpanKind() != trace.SpanKindServer {
			t.Errorf("%s: kind %v, want otelhttp's server span", server.Name(), server.SpanKind())
		}
		if store.Parent().SpanID() != server.SpanContext().SpanID() || store.SpanContext().TraceID() != server.SpanContext().TraceID() {
			t.Errorf("%s is not a child of the request's span", store.Name())
		}
		if store.SpanKind() != trace.SpanKindInternal || store.Status().Code != codes.Unset {
			t.Errorf("%s: kind %v, status %v", store.Name(), store.SpanKind(), store.Status())
		}
	}
	wantAttrs(t, spans[0], "sessions.record.size="+strconv.Itoa(size)+",sessions.store.operation=save_if,sessions.store.outcome=ok")
	wantAttrs(t, spans[2], "sessions.record.found=true,sessions.record.size="+strconv.Itoa(size)+",sessions.store.operation=load_version,sessions.store.outcome=ok")
	if ev := spans[1].Events(); len(ev) != 1 || ev[0].Name != "sessions.created" {
		t.Errorf("request span events %v, want sessions.created", ev)
	}
	for _, sp := range spans {
		for _, a := range sp.Attributes() {
			v := a.Value.String()
			if strings.Contains(v, token) || strings.Contains(v, id) || strings.Contains(v, "session:") || strings.Contains(v, "secret-data") {
				t.Errorf("span %s: attribute %s=%s carries a token, key, ID or data", sp.Name(), a.Key, v)
			}
		}
	}

	s.spans.Reset()
	s.st.down.Store(true)
	s.get(c, srv.URL+"/read")
	spans = s.spans.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if st := spans[0].Status(); st.Code != codes.Error || st.Description != "_OTHER" {
		t.Errorf("failed load: status %v", st)
	}
	wantAttrs(t, spans[0], "error.type=_OTHER,sessions.record.found=false,sessions.store.operation=load_version,sessions.store.outcome=error")
	if ev := spans[1].Events(); len(ev) != 1 || ev[0].Name != "sessions.load_failed" || key(attribute.NewSet(ev[0].Attributes...)) != "error.type=_OTHER" {
		t.Errorf("request span events %v, want sessions.load_failed", ev)
	}
}

// A login under an owner limit, on a store whose add lists the index
// (store.IndexAddLister): an index_add_list span that says it listed, and
// no index_list.
func TestIndexAddListSpan(t *testing.T) {
	mem, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	tel, err := sessionsotel.New(sessionsotel.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sessions.New[profile](sessions.WithManagedStore(tel.Store(mem)), sessions.WithOwnerLimit(3, sessions.EvictOldest))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := load(t, m, "")
	m.Get(ctx).Name = "ann"
	if err := m.SetOwner(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sp := range spans.Ended() {
		names = append(names, sp.Name())
		if sp.Name() == "sessions.store.index_add_list" {
			wantAttrs(t, sp, "sessions.index.listed=true,sessions.store.operation=index_add_list,sessions.store.outcome=ok")
		}
	}
	if got := strings.Join(names, " "); got != "sessions.store.index_add_list sessions.store.save_if" {
		t.Errorf("spans of a login: %s, want the add that lists and the session's write", got)
	}
}

func wantAttrs(t *testing.T, sp sdktrace.ReadOnlySpan, want string) {
	t.Helper()
	if got := key(attribute.NewSet(sp.Attributes()...)); got != want {
		t.Errorf("%s: attributes %s, want %s", sp.Name(), got, want)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func load(t *testing.T, m *sessions.Manager[profile], token string) context.Context {
	t.Helper()
	ctx, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func commit(t *testing.T, m *sessions.Manager[profile], ctx context.Context) {
	t.Helper()
	if _, _, err := m.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// idOf is the ID of the session whose token is token.
func idOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// recordSize is the size of the record of session id in st.
func recordSize(t *testing.T, st store.Store, id string) int {
	t.Helper()
	b, found, err := st.Load(t.Context(), "session:"+id)
	if err != nil || !found {
		t.Fatalf("record of %s: found %v, %v", id, found, err)
	}
	return len(b)
}
