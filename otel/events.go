package sessionsotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessions"
)

// Events is an event hook for sessions.WithEvents: it counts each event
// (sessions.events by kind and cause; sessions.write.conflicts and
// sessions.write.retries for write conflicts; sessions.loads for loads)
// and adds the events other than loads to the span in ctx, the request's,
// as span events. Use the method value:
//
//	sessions.WithEvents(tel.Events)
//
// To log the events too, call both from one hook:
//
//	audit := sessions.SlogEvents(logger)
//	sessions.WithEvents(func(ctx context.Context, e sessions.Event) {
//		tel.Events(ctx, e)
//		audit(ctx, e)
//	})
func (in *Instrumentation) Events(ctx context.Context, e sessions.Event) {
	kind := e.Kind.String()
	var buf [3]attribute.KeyValue
	attrs := append(buf[:0], attrKind.String(kind))
	if e.Cause != "" {
		attrs = append(attrs, attrCause.String(e.Cause))
	}
	in.events.Add(ctx, 1, metric.WithAttributes(attrs...))
	switch e.Kind {
	case sessions.EventLoaded:
		in.loads.Add(ctx, 1, metric.WithAttributes(attrLoadFound.Bool(e.ID != "")))
		return
	case sessions.EventWriteConflict:
		resolution := metric.WithAttributes(attrResolution.String(e.Cause))
		in.conflicts.Add(ctx, 1, resolution)
		if e.Cause != "ended" {
			in.retries.Add(ctx, 1, resolution)
		}
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if e.Err != nil {
		attrs = append(attrs, attrErrorType.String(classNames[classOf(e.Err)]))
	}
	span.AddEvent("sessions."+kind, trace.WithAttributes(attrs[1:]...))
}
