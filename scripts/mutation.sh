#!/bin/sh
# Mutation testing with Gremlins (github.com/go-gremlins/gremlins v0.6.0).
#
# Gremlins changes one operator at a time in a package's code (+ to -,
# < to <=, == to !=, ...), runs that package's tests, and reports each
# change as KILLED (a test failed), LIVED (every test passed: no test pins
# that behaviour), TIMED OUT (the tests hung: the mutant made a loop
# endless, which a test caught by not finishing), NOT COVERED (no test runs
# that line) or NOT VIABLE (does not compile). The score is the share of
# the mutants that compile and that a test runs which the tests detect:
# (killed + timed out) / (killed + timed out + lived). MUTATION.md has the
# latest scores and the survivors judged equivalent.
#
# It is slow (one `go test` of the package per mutant: an hour or more for
# the root package on a small machine) and not part of CI. It covers the
# packages whose tests need no server:
#
#	scripts/mutation.sh                     # . store/memstore store/fsstore storetest
#	scripts/mutation.sh store/memstore      # one package
#	MUTATION_OUT=/tmp/mut scripts/mutation.sh
#	MUTATION_DIFF=v0.1.0 scripts/mutation.sh   # only lines changed since a ref
#
# Gremlins runs a mutant only where Go's coverage profile has a block, and
# a case expression or a constant has none: those mutants come out NOT
# COVERED even where tests run the line. scripts/mutants runs them (and,
# after tests were added, the survivors) one by one from the JSON report:
#
#	go run ./scripts/mutants -report mutation-results/root.json -pkg .
#
# Run it from the module root. For each package it writes
# $MUTATION_OUT/<name>.log (one line per mutant) and <name>.json, and
# prints the counts. Only the package's own tests run against its mutants,
# so a behaviour must be pinned by a test in the package that owns it.
#
# Knobs (environment): MUTATION_WORKERS (default 1), MUTATION_TIMEOUT
# (Gremlins' timeout coefficient: a mutant's tests may take this many times
# the coverage run; default 10, 3 for the root package, whose coverage run
# covers the whole module).
#
# For the root package Gremlins gathers coverage over ./..., so the script
# points DOCKER_HOST at nothing to make the container tests skip, and
# excludes the files of the other packages from mutation.
set -eu

# Gremlins times each mutant's tests against its coverage run: a cached
# test result would make that run instant and every mutant time out.
export GOFLAGS="${GOFLAGS:-} -count=1"

GREMLINS="go run github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0"
out=${MUTATION_OUT:-mutation-results}
workers=${MUTATION_WORKERS:-1}
mkdir -p "$out"
[ $# -gt 0 ] || set -- . store/memstore store/fsstore storetest

for pkg in "$@"; do
	name=$(echo "$pkg" | tr / -)
	[ "$name" = . ] && name=root
	set -- --workers "$workers" --output "$out/$name.json"
	[ -z "${MUTATION_DIFF:-}" ] || set -- "$@" --diff "$MUTATION_DIFF"
	if [ "$pkg" = . ]; then
		coef=${MUTATION_TIMEOUT:-3}
		set -- "$@" --exclude-files '^(store|storetest|internal|examples|bench|scripts)/'
		export DOCKER_HOST=unix:///nonexistent/docker.sock
	else
		coef=${MUTATION_TIMEOUT:-10}
		unset DOCKER_HOST 2>/dev/null || true
	fi
	echo "== $pkg"
	$GREMLINS unleash "$@" --timeout-coefficient "$coef" "./$pkg" >"$out/$name.log" 2>&1 || true
	killed=$(grep -c '^ *KILLED' "$out/$name.log" || true)
	lived=$(grep -c '^ *LIVED' "$out/$name.log" || true)
	timedout=$(grep -c '^ *TIMED OUT' "$out/$name.log" || true)
	notviable=$(grep -c '^ *NOT VIABLE' "$out/$name.log" || true)
	notcovered=$(grep -c '^ *NOT COVERED' "$out/$name.log" || true)
	score=$(awk -v k="$((killed + timedout))" -v l="$lived" 'BEGIN { if (k + l) printf "%.1f%%", 100 * k / (k + l); else print "-" }')
	echo "killed $killed lived $lived score $score; timed out $timedout, not viable $notviable, not covered $notcovered"
	grep '^ *LIVED' "$out/$name.log" || true
done
