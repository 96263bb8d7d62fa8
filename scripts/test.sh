#!/usr/bin/env bash
# test.sh runs `go test ./...` in every module of the repository, passing
# its arguments on to each:
#
#   scripts/test.sh                                   # everything
#   SESSIONS_TEST_REQUIRE=1 scripts/test.sh -race     # as CI: no backend may skip
#   scripts/test.sh --list                            # the modules, one a line
#
# The modules: the library itself, then the ones kept apart so that their
# dependencies stay out of the library's go.mod and so out of its users'
# go.sum: internal/backendtests (the backends in containers through
# testcontainers-go: the end-to-end, fault and failover tests, the Redis
# store's tests, and the other stores' tests that need a server), bench
# (scs, gorilla), examples/login (chromedp), examples/frameworks (chi,
# gin, echo) and otel (the OpenTelemetry instrumentation, so that the
# library itself depends on no OpenTelemetry package). `go test ./...` at
# the root enters none of them.
#
# Every module is tested even when one fails; the exit status is non-zero
# if any did.
set -uo pipefail
cd "$(dirname "$0")/.."

modules=(. internal/backendtests bench examples/login examples/frameworks otel)

if [ "${1:-}" = --list ]; then
	printf '%s\n' "${modules[@]}"
	exit 0
fi

failed=()
for m in "${modules[@]}"; do
	printf '\n== go test %s ./... (module %s)\n' "$*" "$m"
	(cd "$m" && go test "$@" ./...) || failed+=("$m")
done
if [ ${#failed[@]} -gt 0 ]; then
	printf '\nscripts/test.sh: go test failed in: %s\n' "${failed[*]}" >&2
	exit 1
fi
