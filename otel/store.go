package sessionsotel

import (
	"context"
	"io"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessions/store"
)

// The store operations, as sessions.store.operation names them.
const (
	opLoad = iota
	opSave
	opDelete
	opLoadVersion
	opSaveIf
	opTouch
	opLoadAndTouch
	opDeleteExpired
	opScan
	opClear
	opIndexAdd
	opIndexRemove
	opIndexList
	opLoadVersions
	opIndexAddList
	numOps
)

var (
	opNames   = [numOps]string{"load", "save", "delete", "load_version", "save_if", "touch", "load_and_touch", "delete_expired", "scan", "clear", "index_add", "index_remove", "index_list", "load_versions", "index_add_list"}
	spanNames = func() (n [numOps]string) {
		for i, op := range opNames {
			n[i] = "sessions.store." + op
		}
		return n
	}()
)

// Store returns st instrumented: each call is timed
// (sessions.store.duration), the records it writes or reads are measured
// (sessions.record.size) and it runs in a span of its own under the span
// in its context. The result has exactly the optional interfaces of st
// that the sessions manager and its tools look for (store.Versioned,
// store.Toucher, store.LoadToucher, store.ExpiredDeleter,
// store.ExpiredReporter, store.Scanner, store.Clearer, store.OwnerIndex,
// store.IndexAddLister, store.MultiLoader and io.Closer), so the manager
// uses it as it
// would use st; only the built-in stores' allocation-free internal paths
// are not taken through a wrapper. Close, if st has it, closes st. A nil
// st gives nil.
func (in *Instrumentation) Store(st store.Store) store.Store {
	if st == nil {
		return nil
	}
	b := &base{in: in, st: st}
	var caps uint
	if v, ok := st.(store.Versioned); ok {
		b.v, caps = v, caps|capVersioned
	}
	if t, ok := st.(store.Toucher); ok {
		b.t, caps = t, caps|capToucher
	}
	if lt, ok := st.(store.LoadToucher); ok {
		b.lt, caps = lt, caps|capLoadToucher
	}
	if d, ok := st.(store.ExpiredDeleter); ok {
		b.d, caps = d, caps|capExpiredDeleter
	}
	if r, ok := st.(store.ExpiredReporter); ok {
		b.r, caps = r, caps|capExpiredReporter
	}
	if c, ok := st.(io.Closer); ok {
		b.c, caps = c, caps|capCloser
	}
	if sc, ok := st.(store.Scanner); ok {
		b.sc, caps = sc, caps|capScanner
	}
	if cl, ok := st.(store.Clearer); ok {
		b.cl, caps = cl, caps|capClearer
	}
	if oi, ok := st.(store.OwnerIndex); ok {
		b.oi, caps = oi, caps|capOwnerIndex
	}
	if ml, ok := st.(store.MultiLoader); ok {
		b.ml, caps = ml, caps|capMultiLoader
	}
	if al, ok := st.(store.IndexAddLister); ok {
		b.al, caps = al, caps|capIndexAddLister
	}
	return wrap(b, caps)
}

//go:generate go run gen.go

// The optional interfaces a wrapper keeps, as bits (gen.go knows their
// order).
const (
	capVersioned = 1 << iota
	capToucher
	capLoadToucher
	capExpiredDeleter
	capExpiredReporter
	capCloser
	capScanner
	capClearer
	capOwnerIndex
	capMultiLoader
	capIndexAddLister
	numCaps = iota
)

// The method sets of the optional interfaces, without those of
// store.Store, so that a wrapper can embed any of them without ambiguity.
type (
	clearer interface { // store.Clearer's own methods
		Clear(ctx context.Context) error
		SameGeneration(a, b store.Version) bool
	}
	versionedOnly interface {
		LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error)
		SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error)
	}
	toucher            = store.Toucher
	loadToucher        = store.LoadToucher
	expiredDeleter     = store.ExpiredDeleter
	expiredReporter    = store.ExpiredReporter
	closer             = io.Closer
	scanner            = store.Scanner
	ownerIndex         = store.OwnerIndex
	multiLoader        = store.MultiLoader
	indexAddListerOnly interface { // store.IndexAddLister's own method
		IndexAddList(ctx context.Context, key string, e store.IndexEntry) ([]store.IndexEntry, bool, error)
	}
)

// base has every method; the wrappers wrap generates expose those of the
// inner store's interfaces only.
type base struct {
	in *Instrumentation
	st store.Store
	v  store.Versioned
	t  store.Toucher
	lt store.LoadToucher
	d  store.ExpiredDeleter
	r  store.ExpiredReporter
	c  io.Closer
	sc store.Scanner
	cl store.Clearer
	oi store.OwnerIndex
	ml store.MultiLoader
	al store.IndexAddLister
}

// begin starts the span of a call to op.
func (b *base) begin(ctx context.Context, op int) (context.Context, trace.Span, time.Time) {
	ctx, span := b.in.tracer.Start(ctx, spanNames[op],
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrOperation.String(opNames[op])))
	return ctx, span, time.Now()
}

// end records a call to op that began at start and ended with err; size
// is the size of the record it wrote or read (recorded if the call
// succeeded), or -1 for none.
func (b *base) end(ctx context.Context, span trace.Span, start time.Time, op int, err error, size int) {
	class := classOf(err)
	b.in.duration.Record(ctx, time.Since(start).Seconds(), b.in.callAttrs[op][class])
	if size >= 0 && err == nil {
		b.in.size.Record(ctx, int64(size), b.in.sizeAttrs[op])
	}
	if span.IsRecording() {
		span.SetAttributes(attrOutcome.String(outcomes[class]))
		if size >= 0 && err == nil {
			span.SetAttributes(attrSize.Int(size))
		}
		if class > classConflict {
			span.SetAttributes(attrErrorType.String(classNames[class]))
			span.RecordError(err)
			span.SetStatus(codes.Error, classNames[class])
		}
	}
	span.End()
}

// endLoad is end for a load, which also says whether it found the record.
func (b *base) endLoad(ctx context.Context, span trace.Span, start time.Time, op int, err error, found bool, data []byte) {
	if span.IsRecording() {
		span.SetAttributes(attrFound.Bool(found))
	}
	size := -1
	if found {
		size = len(data)
	}
	b.end(ctx, span, start, op, err, size)
}

// written is the size of a record written with data until expiresAt, or
// -1 when the write deletes the record (an expiry already passed).
func written(data []byte, expiresAt time.Time) int {
	if !expiresAt.After(time.Now()) {
		return -1
	}
	return len(data)
}

func (b *base) Load(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, span, start := b.begin(ctx, opLoad)
	data, found, err := b.st.Load(ctx, key)
	b.endLoad(ctx, span, start, opLoad, err, found, data)
	return data, found, err
}

func (b *base) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	ctx, span, start := b.begin(ctx, opSave)
	err := b.st.Save(ctx, key, data, expiresAt)
	b.end(ctx, span, start, opSave, err, written(data, expiresAt))
	return err
}

func (b *base) Delete(ctx context.Context, key string) error {
	ctx, span, start := b.begin(ctx, opDelete)
	err := b.st.Delete(ctx, key)
	b.end(ctx, span, start, opDelete, err, -1)
	return err
}

func (b *base) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	ctx, span, start := b.begin(ctx, opLoadVersion)
	l, err := b.v.LoadVersion(ctx, key, touch)
	b.endLoad(ctx, span, start, opLoadVersion, err, l.Found(), l.Data)
	return l, err
}

func (b *base) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, version store.Version) (store.Version, error) {
	ctx, span, start := b.begin(ctx, opSaveIf)
	v, err := b.v.SaveIf(ctx, key, data, expiresAt, version)
	b.end(ctx, span, start, opSaveIf, err, written(data, expiresAt))
	return v, err
}

func (b *base) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	ctx, span, start := b.begin(ctx, opTouch)
	err := b.t.Touch(ctx, key, expiresAt)
	b.end(ctx, span, start, opTouch, err, -1)
	return err
}

func (b *base) Scan(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	ctx, span, start := b.begin(ctx, opScan)
	keys, next, err := b.sc.Scan(ctx, prefix, cursor, limit)
	b.end(ctx, span, start, opScan, err, -1)
	return keys, next, err
}

func (b *base) Clear(ctx context.Context) error {
	ctx, span, start := b.begin(ctx, opClear)
	err := b.cl.Clear(ctx)
	b.end(ctx, span, start, opClear, err, -1)
	return err
}

// SameGeneration makes no call to the store: it is not instrumented.
func (b *base) SameGeneration(x, y store.Version) bool { return b.cl.SameGeneration(x, y) }

func (b *base) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	ctx, span, start := b.begin(ctx, opIndexAdd)
	err := b.oi.IndexAdd(ctx, key, e)
	b.end(ctx, span, start, opIndexAdd, err, -1)
	return err
}

func (b *base) IndexRemove(ctx context.Context, key string, ids ...string) error {
	ctx, span, start := b.begin(ctx, opIndexRemove)
	err := b.oi.IndexRemove(ctx, key, ids...)
	b.end(ctx, span, start, opIndexRemove, err, -1)
	return err
}

func (b *base) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	ctx, span, start := b.begin(ctx, opIndexList)
	entries, err := b.oi.IndexList(ctx, key)
	b.end(ctx, span, start, opIndexList, err, -1)
	return entries, err
}

func (b *base) IndexAddList(ctx context.Context, key string, e store.IndexEntry) ([]store.IndexEntry, bool, error) {
	ctx, span, start := b.begin(ctx, opIndexAddList)
	entries, listed, err := b.al.IndexAddList(ctx, key, e)
	if span.IsRecording() {
		span.SetAttributes(attrListed.Bool(listed))
	}
	b.end(ctx, span, start, opIndexAddList, err, -1)
	return entries, listed, err
}

func (b *base) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	ctx, span, start := b.begin(ctx, opLoadVersions)
	loaded, err := b.ml.LoadVersions(ctx, keys)
	b.end(ctx, span, start, opLoadVersions, err, -1)
	return loaded, err
}

func (b *base) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	ctx, span, start := b.begin(ctx, opLoadAndTouch)
	data, found, err := b.lt.LoadAndTouch(ctx, key, expiresAt)
	b.endLoad(ctx, span, start, opLoadAndTouch, err, found, data)
	return data, found, err
}

func (b *base) DeleteExpired(ctx context.Context) (int, error) {
	ctx, span, start := b.begin(ctx, opDeleteExpired)
	n, err := b.d.DeleteExpired(ctx)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("sessions.store.deleted", n))
	}
	b.end(ctx, span, start, opDeleteExpired, err, -1)
	return n, err
}

// ReportExpired passes fn to the inner store.
func (b *base) ReportExpired(fn func(ctx context.Context, key string, data []byte)) (stop func()) {
	return b.r.ReportExpired(fn)
}

// Close closes the inner store.
func (b *base) Close() error { return b.c.Close() }
