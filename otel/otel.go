// Package sessionsotel feeds OpenTelemetry metrics and traces from
// github.com/sessionkit/sessions: a store wrapper times every store call,
// as a histogram and as a span under the request's span (otelhttp's), and
// an event hook counts session events. It is a module of its own, so that
// the sessions module itself depends on no OpenTelemetry package.
//
//	tel, err := sessionsotel.New() // the global MeterProvider and TracerProvider
//	if err != nil { ... }
//	st, err := memstore.New()      // or any store: redisstore.New(client), ...
//	if err != nil { ... }
//	mgr, err := sessions.New[T](
//		sessions.WithManagedStore(tel.Store(st)),
//		sessions.WithEvents(tel.Events),
//	)
//	handler := otelhttp.NewHandler(mgr.Middleware(mux), "server")
//
// # Metrics
//
//	sessions.store.duration   histogram, s    every store call: sessions.store.operation,
//	                                          sessions.store.outcome (ok, conflict, error),
//	                                          error.type (for errors)
//	sessions.record.size      histogram, By   records written and records read:
//	                                          sessions.store.operation
//	sessions.events           counter         session events: sessions.event.kind,
//	                                          sessions.event.cause (where set)
//	sessions.write.conflicts  counter         lost conditional writes of a session:
//	                                          sessions.conflict.resolution (merged,
//	                                          retried, renewed, ended)
//	sessions.write.retries    counter         conflicts followed by another write
//	                                          attempt: sessions.conflict.resolution
//	sessions.loads            counter         requests that loaded their session:
//	                                          sessions.session.found (false: a new session)
//
// The operations are load, save, delete, load_version, save_if, touch,
// load_and_touch and delete_expired; error.type is timeout, canceled,
// closed, too_large, session_changed or _OTHER.
//
// # Spans
//
// Each store call is a span named "sessions.store." and the operation
// ("sessions.store.save_if"), a child of the span in the call's context:
// the request's span under otelhttp, since the manager passes the
// request's context to the store. A Redis client instrumented with
// rueidisotel adds its command spans under it. Its attributes are
// sessions.store.operation, sessions.store.outcome, sessions.record.size
// (bytes written or read), sessions.record.found (loads) and, for an
// error, error.type with the error recorded. The events of a request
// (created, renewed, revoked, write_conflict, save_failed, ...) are added
// to the request's span as span events named "sessions." and the kind,
// with sessions.event.cause and error.type.
//
// Nothing recorded includes a token, a store key (which a session ID or
// an owner could be read from) or session data.
package sessionsotel

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessions"
	"github.com/sessionkit/sessions/store"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/sessionkit/sessions/otel"

// An Instrumentation holds the instruments that its Store wrappers and its
// Events hook record to. Create one with New and share it: one per
// application is enough. It is safe for concurrent use.
type Instrumentation struct {
	tracer    trace.Tracer
	duration  metric.Float64Histogram
	size      metric.Int64Histogram
	events    metric.Int64Counter
	conflicts metric.Int64Counter
	retries   metric.Int64Counter
	loads     metric.Int64Counter

	// Attribute sets, built once: of a store call by operation and error
	// class, and of a record size by operation.
	callAttrs [numOps][numClasses]metric.MeasurementOption
	sizeAttrs [numOps]metric.MeasurementOption
}

// An Option configures New.
type Option func(*config)

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider sets the MeterProvider the instruments come from
// (default: the global one, otel.GetMeterProvider()). A nil mp keeps the
// default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	}
}

// WithTracerProvider sets the TracerProvider of the store calls' spans
// (default: the global one, otel.GetTracerProvider()). A nil tp keeps the
// default.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	}
}

// New creates the instruments. It fails only when the MeterProvider
// refuses one.
func New(opts ...Option) (*Instrumentation, error) {
	cfg := config{mp: otel.GetMeterProvider(), tp: otel.GetTracerProvider()}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	meter := cfg.mp.Meter(ScopeName)
	in := &Instrumentation{tracer: cfg.tp.Tracer(ScopeName)}
	var err, e error
	in.duration, e = meter.Float64Histogram("sessions.store.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of the session store's calls."),
		metric.WithExplicitBucketBoundaries(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	err = errors.Join(err, e)
	in.size, e = meter.Int64Histogram("sessions.record.size",
		metric.WithUnit("By"),
		metric.WithDescription("Size of the session records written to and read from the store."),
		metric.WithExplicitBucketBoundaries(64, 128, 256, 512, 1<<10, 2<<10, 4<<10, 8<<10, 16<<10, 32<<10, 64<<10, 128<<10, 256<<10, 512<<10, 1<<20))
	err = errors.Join(err, e)
	in.events, e = meter.Int64Counter("sessions.events",
		metric.WithUnit("{event}"),
		metric.WithDescription("Session events: created, renewed, owner_bound, destroyed, revoked, expired, write_conflict, loaded, load_failed, save_failed, refused."))
	err = errors.Join(err, e)
	in.conflicts, e = meter.Int64Counter("sessions.write.conflicts",
		metric.WithUnit("{conflict}"),
		metric.WithDescription("Conditional writes of a session that lost to another writer."))
	err = errors.Join(err, e)
	in.retries, e = meter.Int64Counter("sessions.write.retries",
		metric.WithUnit("{retry}"),
		metric.WithDescription("Write conflicts followed by another write attempt."))
	err = errors.Join(err, e)
	in.loads, e = meter.Int64Counter("sessions.loads",
		metric.WithUnit("{load}"),
		metric.WithDescription("Requests that loaded their session."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, fmt.Errorf("sessionsotel: %w", err)
	}
	for op := range numOps {
		opAttr := attrOperation.String(opNames[op])
		in.sizeAttrs[op] = metric.WithAttributeSet(attribute.NewSet(opAttr))
		for c := range numClasses {
			attrs := []attribute.KeyValue{opAttr, attrOutcome.String(outcomes[c])}
			if c > classConflict {
				attrs = append(attrs, attrErrorType.String(classNames[c]))
			}
			in.callAttrs[op][c] = metric.WithAttributeSet(attribute.NewSet(attrs...))
		}
	}
	return in, nil
}

// Attribute keys.
const (
	attrOperation  = attribute.Key("sessions.store.operation")
	attrOutcome    = attribute.Key("sessions.store.outcome")
	attrErrorType  = attribute.Key("error.type")
	attrSize       = attribute.Key("sessions.record.size")
	attrFound      = attribute.Key("sessions.record.found")
	attrListed     = attribute.Key("sessions.index.listed")
	attrKind       = attribute.Key("sessions.event.kind")
	attrCause      = attribute.Key("sessions.event.cause")
	attrResolution = attribute.Key("sessions.conflict.resolution")
	attrLoadFound  = attribute.Key("sessions.session.found")
)

// The error classes of a store call: what error.type says.
const (
	classOK = iota
	classConflict
	classTimeout
	classCanceled
	classClosed
	classTooLarge
	classSessionChanged
	classOther
	numClasses
)

var (
	classNames = [numClasses]string{"", "conflict", "timeout", "canceled", "closed", "too_large", "session_changed", "_OTHER"}
	outcomes   = [numClasses]string{"ok", "conflict", "error", "error", "error", "error", "error", "error"}
)

// classOf returns the class of err.
func classOf(err error) int {
	switch {
	case err == nil:
		return classOK
	case errors.Is(err, store.ErrConflict):
		return classConflict
	case errors.Is(err, context.DeadlineExceeded):
		return classTimeout
	case errors.Is(err, context.Canceled):
		return classCanceled
	case errors.Is(err, store.ErrClosed):
		return classClosed
	case errors.Is(err, store.ErrTooLarge):
		return classTooLarge
	case errors.Is(err, sessions.ErrSessionChanged):
		return classSessionChanged
	}
	return classOther
}
