package sessions

import (
	"context"
	"log/slog"
	"runtime"
	"time"
)

// logAt logs msg at level to the manager's logger, with keyID as
// "key_id" unless it is "" and err as "error" unless it is nil. The record
// names logAt's caller as its source, as a direct call of the logger
// would: one shared call instead of a slog call with its arguments at
// every place that logs.
func (m *core) logAt(ctx context.Context, level slog.Level, msg, keyID string, err error) {
	l := m.cfg.logger
	if !l.Enabled(ctx, level) {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:]) // skip runtime.Callers and logAt
	r := slog.NewRecord(time.Now(), level, msg, pcs[0])
	if keyID != "" {
		r.AddAttrs(slog.String("key_id", keyID))
	}
	if err != nil {
		r.AddAttrs(slog.Any("error", err))
	}
	_ = l.Handler().Handle(ctx, r)
}
