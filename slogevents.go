package sessions

import (
	"context"
	"log/slog"
)

// SlogEvents returns an event hook for [WithEvents] that writes each event
// to logger as one line: an audit log of sign-ins, Renews, sign-outs,
// revocations and expiries. A nil logger means slog.Default() at the time
// of each event.
//
// The message is "session " and the kind ("session renewed"); the
// attributes, each present only when set, are
//
//	session_event        the kind: created, renewed, owner_bound, destroyed,
//	                     revoked, expired, write_conflict, loaded,
//	                     load_failed, save_failed, refused
//	session_id           the session's ID (a hash of its token, never the token)
//	previous_session_id  the ID before a Renew
//	owner                the owner the session is bound to
//	cause                what ended or expired it, or what followed a conflict
//	size                 the refused record's size in bytes
//	error                the error of a failure
//
// Failures (load_failed, save_failed, refused) log at level Warn, loads
// and write conflicts, which are routine, at Debug, the rest at Info. A
// handler whose level is above Debug costs a loaded event only the level
// check.
func SlogEvents(logger *slog.Logger) func(context.Context, Event) {
	return func(ctx context.Context, e Event) {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		level := eventLevel(e.Kind)
		if !l.Enabled(ctx, level) {
			return
		}
		var buf [7]slog.Attr
		attrs := append(buf[:0], slog.String("session_event", e.Kind.String()))
		if e.ID != "" {
			attrs = append(attrs, slog.String("session_id", e.ID))
		}
		if e.PreviousID != "" {
			attrs = append(attrs, slog.String("previous_session_id", e.PreviousID))
		}
		if e.Owner != "" {
			attrs = append(attrs, slog.String("owner", e.Owner))
		}
		if e.Cause != "" {
			attrs = append(attrs, slog.String("cause", e.Cause))
		}
		if e.Size != 0 {
			attrs = append(attrs, slog.Int("size", e.Size))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.Any("error", e.Err))
		}
		l.LogAttrs(ctx, level, "session "+e.Kind.String(), attrs...)
	}
}

// eventLevel is the level SlogEvents logs events of kind k at.
func eventLevel(k EventKind) slog.Level {
	switch k {
	case EventLoadFailed, EventSaveFailed, EventRefused:
		return slog.LevelWarn
	case EventLoaded, EventWriteConflict:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
