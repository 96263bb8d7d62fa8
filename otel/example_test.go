package sessionsotel_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/redis/rueidis"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionkit/sessions"
	sessionsotel "github.com/sessionkit/sessions/otel"
	"github.com/sessionkit/sessions/store/memstore"
	"github.com/sessionkit/sessions/store/redisstore"
)

// The OpenTelemetry setup: the manager's store wrapped by tel.Store, its
// events counted by tel.Events, and the handler under otelhttp, so that
// each store call is a span under the request's span. Here the SDK keeps
// what it records in memory for the example to print; a program gives its
// providers exporters instead (OTLP, Prometheus) and usually installs them
// as the global ones (otel.SetMeterProvider), which New uses by default.
func Example() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	tel, err := sessionsotel.New(sessionsotel.WithMeterProvider(mp), sessionsotel.WithTracerProvider(tp))
	if err != nil {
		log.Fatal(err)
	}
	st, err := memstore.New()
	if err != nil {
		log.Fatal(err)
	}
	type visits struct{ N int }
	mgr, err := sessions.New[visits](
		sessions.WithManagedStore(tel.Store(st)),
		sessions.WithEvents(tel.Events),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mgr.Get(r.Context()).N++
	})
	srv := httptest.NewServer(otelhttp.NewHandler(mgr.Middleware(mux), "server", otelhttp.WithTracerProvider(tp)))
	defer srv.Close()

	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	for range 2 {
		res, err := client.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		res.Body.Close()
	}

	for _, s := range spans.Ended() {
		fmt.Printf("span %s (%v)\n", s.Name(), s.SpanKind())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "sessions.events" {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					kind, _ := dp.Attributes.Value("sessions.event.kind")
					fmt.Printf("sessions.events{kind=%s} %d\n", kind.AsString(), dp.Value)
				}
			}
		}
	}
	// Unordered output:
	// span sessions.store.save_if (internal)
	// span GET (server)
	// span sessions.store.load_version (internal)
	// span sessions.store.save_if (internal)
	// span GET (server)
	// sessions.events{kind=loaded} 2
	// sessions.events{kind=created} 1
}

// On Redis: the store wrapped as any other, and the Redis client
// instrumented too, so that its commands show as spans under the store
// calls' spans. rueidisotel (the module
// github.com/redis/rueidis/rueidisotel) makes that client: replace
// rueidis.NewClient(opt) by rueidisotel.NewClient(opt), which takes the
// same option and returns a rueidis.Client.
func ExampleInstrumentation_Store_redis() {
	tel, err := sessionsotel.New() // the global providers
	if err != nil {
		log.Fatal(err)
	}
	// With rueidisotel: client, err := rueidisotel.NewClient(opt)
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"localhost:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	st, err := redisstore.New(client)
	if err != nil {
		log.Fatal(err)
	}
	audit := sessions.SlogEvents(slog.Default())
	mgr, err := sessions.New[map[string]any](
		sessions.WithManagedStore(tel.Store(st)),
		sessions.WithEvents(func(ctx context.Context, e sessions.Event) {
			tel.Events(ctx, e) // metrics and span events
			audit(ctx, e)      // and an audit log
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer mgr.Close()
	mux := http.NewServeMux()
	log.Fatal(http.ListenAndServe(":8080", otelhttp.NewHandler(mgr.Middleware(mux), "server")))
}
