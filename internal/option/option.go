// Package option is how the sessions package and every store package
// apply their functional options, so that they follow one set of rules:
//
//   - Options apply in order; a later one overrides an earlier one.
//   - A nil option is ignored, so callers can build option lists with
//     conditionals without filtering them.
//   - An option given an invalid value returns an error saying why, and
//     the constructor returns the first such error, with nothing built.
//   - A nil *slog.Logger means slog.Default() (see [Logger]).
package option

import "log/slog"

// Apply applies opts in order to cfg, skipping nil ones, and returns the
// first error an option returns. The options after it are not applied.
func Apply[C any, O ~func(*C) error](cfg *C, opts []O) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(cfg); err != nil {
			return err
		}
	}
	return nil
}

// Logger returns l, or slog.Default() when l is nil: the one meaning of a
// nil logger in every WithLogger.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
