#!/usr/bin/env bash
# testimages.sh builds, from Debian packages, local images equivalent to the
# official redis, memcached, mongo, postgres and mariadb images, for a Docker
# engine that cannot pull (see "Backends in tests" in the design notes).
#
#   scripts/testimages.sh          build what is missing or outdated
#   scripts/testimages.sh --env    the same, then print the variables the
#                                  tests read:  eval "$(scripts/testimages.sh --env)"
#
# The base is a debootstrap'd Debian bookworm minbase with the servers
# installed, imported with `docker import`; each server image is a small
# Dockerfile FROM it. MongoDB is FerretDB v1 (SQLite handler) built with the
# host's Go from scripts/ferretdb. Every image carries a hash of its recipe
# in the label sessions.recipe and is rebuilt only when the recipe changes.
# Work files live in .cache/testimages/. Needs root (or sudo) for debootstrap.
set -euo pipefail

suite=bookworm
packages=redis-server,memcached,postgresql,mariadb-server
ferretdb_version=1.24.2
prefix=sessions-test

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=$root/.cache/testimages
self=$root/scripts/testimages.sh
base=$prefix/base:$suite

env_mode=false
case "${1:-}" in
--env) env_mode=true ;;
'') ;;
*)
	echo "usage: $0 [--env]" >&2
	exit 2
	;;
esac

# Everything but the --env lines goes to stderr.
exec 3>&1 1>&2

log() { echo "testimages: [${SECONDS}s] $*"; }
die() {
	log "error: $*"
	exit 1
}

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo

sha() { sha256sum | cut -c1-16; }

# label prints the recipe hash of image $1, or nothing when it is absent.
label() {
	docker image inspect -f '{{index .Config.Labels "sessions.recipe"}}' "$1" 2>/dev/null || true
}

# mirror prints the Debian mirror of the machine's apt sources.
mirror() {
	local m
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$suite" '
		BEGIN { RS = "" }
		$0 ~ "(^|\n)Types:([^\n]* )?deb( |\n|$)" && $0 ~ "(^|\n)Suites:([^\n]* )?" s "( |\n|$)" {
			if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) {
				u = substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]*/, "", u); print u; exit
			}
		}')
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -E 's/\[[^]]*\]//' | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }')
	fi
	[ -n "$m" ] || die "no deb line for $suite in /etc/apt/sources.list{,.d/*}"
	echo "$m"
}

# build_base debootstraps the rootfs (cached as a tarball) and imports it.
build_base() {
	local hash=$1 tar=$cache/base-$1.tar rootfs=$cache/rootfs log=$cache/debootstrap.log m
	if [ ! -s "$tar" ]; then
		command -v debootstrap >/dev/null || {
			log "installing debootstrap"
			$sudo apt-get -o DPkg::Lock::Timeout=600 install -y debootstrap >/dev/null
		}
		m=$(mirror)
		log "debootstrap $suite from $m (a few minutes, log in $log)"
		$sudo rm -rf "$rootfs"
		$sudo debootstrap --foreign --variant=minbase --include="$packages" "$suite" "$rootfs" "$m" >"$log" ||
			die "debootstrap failed, see $log"
		# dpkg without fsync: much faster, and a throwaway rootfs needs no durability.
		echo force-unsafe-io | $sudo tee "$rootfs/etc/dpkg/dpkg.cfg.d/unsafe-io" >/dev/null
		$sudo chroot "$rootfs" /debootstrap/debootstrap --second-stage >>"$log" ||
			die "debootstrap --second-stage failed, see $log"
		# Drop what the tests never use (docs, translations, the LLVM of
		# PostgreSQL's JIT, the packages' data directories: the entrypoints
		# create their own) and prepare the servers' directories.
		(cd "$rootfs" && $sudo rm -rf etc/dpkg/dpkg.cfg.d/unsafe-io var/cache/apt/archives/*.deb \
			var/lib/apt/lists/* usr/share/doc usr/share/man usr/share/info usr/share/locale usr/share/i18n \
			usr/lib/*/libLLVM* usr/lib/*/libz3.* usr/lib/postgresql/*/lib/llvmjit* usr/lib/postgresql/*/lib/bitcode \
			var/lib/postgresql/* var/lib/mysql/*)
		$sudo chroot "$rootfs" sh -ec '
			ln -s /usr/lib/postgresql/*/bin/* /usr/local/bin/
			mkdir -p /data /var/lib/postgresql/data /run/postgresql /run/mysqld
			chown -R postgres:postgres /var/lib/postgresql /run/postgresql
			chown -R mysql:mysql /var/lib/mysql /run/mysqld'
		$sudo tar --numeric-owner -C "$rootfs" -cf "$tar.tmp" .
		$sudo rm -rf "$rootfs"
		$sudo chown "$(id -u):$(id -g)" "$tar.tmp"
		mv "$tar.tmp" "$tar"
		find "$cache" -maxdepth 1 -name 'base-*.tar' ! -name "base-$hash.tar" -delete
	fi
	log "importing $base"
	docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV LANG=C.UTF-8' \
		--change 'CMD ["bash"]' \
		--change "LABEL sessions.recipe=$hash" \
		"$tar" "$base" >/dev/null
}

# context writes the build context of image $1 into $cache/ctx/$1: a
# Dockerfile and an entrypoint. Each Dockerfile instruction costs a container
# commit with the legacy builder, so they are few: the directories are made
# in the base, and the entrypoints default to running the server.
context() {
	local dir=$cache/ctx/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	case $1 in
	ferretdb)
		cp "$cache/ferretdb" "$dir/"
		cat >"$dir/Dockerfile" <<-EOF
			FROM $base
			COPY ferretdb /usr/local/bin/
			ENTRYPOINT ["ferretdb", "-listen", "0.0.0.0:27017", "-dir", "/data/db"]
		EOF
		return
		;;
	esac
	cat >"$dir/Dockerfile" <<-EOF
		FROM $base
		COPY entrypoint.sh /usr/local/bin/
		ENTRYPOINT ["entrypoint.sh"]
	EOF
	case $1 in
	redis)
		# Like the official image: flags alone are redis-server flags.
		cat >"$dir/entrypoint.sh" <<-'EOF'
			#!/bin/sh
			set -e
			cd /data
			case "${1:-}" in '' | -* | *.conf) set -- redis-server "$@" ;; esac
			if [ "$1" = redis-server ]; then
				shift
				conf=
				case "${1:-}" in *.conf) conf=$1 && shift ;; esac
				exec redis-server $conf --bind 0.0.0.0 --protected-mode no "$@"
			fi
			exec "$@"
		EOF
		;;
	memcached)
		# -I 4m: items up to 4 MiB (the default 1 MiB is too small for 1 MiB values).
		cat >"$dir/entrypoint.sh" <<-'EOF'
			#!/bin/sh
			set -e
			case "${1:-}" in '' | -*) set -- memcached "$@" ;; esac
			if [ "$1" = memcached ]; then
				shift
				exec memcached -u memcache -l 0.0.0.0 -p 11211 -m 256 -I 4m "$@"
			fi
			exec "$@"
		EOF
		;;
	postgres)
		# Like the official image: POSTGRES_USER/PASSWORD/DB (here defaulting
		# to sessions) on first start, a temporary server for the setup (so
		# "ready to accept connections" is logged twice, as testcontainers'
		# postgres module expects), scram password authentication over TCP.
		cat >"$dir/entrypoint.sh" <<-'EOF'
			#!/bin/sh
			set -eu
			[ "$(id -u)" != 0 ] || exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
			export PGDATA=${PGDATA:-/var/lib/postgresql/data}
			case "${1:-}" in '' | -*) set -- postgres "$@" ;; esac
			if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
				user=${POSTGRES_USER:-sessions}
				db=${POSTGRES_DB:-$user}
				pwfile=$(mktemp)
				echo "${POSTGRES_PASSWORD:-sessions}" >"$pwfile"
				initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -A scram-sha-256 --auth-local=trust >/dev/null
				rm -f "$pwfile"
				echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
				echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
				pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
				[ "$db" = postgres ] || psql -v ON_ERROR_STOP=1 -q -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
				pg_ctl -D "$PGDATA" -m fast -w stop
				echo 'PostgreSQL init process complete; ready for start up.'
			fi
			exec "$@"
		EOF
		;;
	mariadb)
		# Like the official image: MARIADB_* (or MYSQL_*) USER, PASSWORD,
		# DATABASE and ROOT_PASSWORD on first start, here defaulting to
		# sessions; values are not escaped. A small redo log starts faster.
		cat >"$dir/entrypoint.sh" <<-'EOF'
			#!/bin/sh
			set -eu
			case "${1:-}" in '' | -*) set -- mariadbd "$@" ;; esac
			if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
				shift
				set -- --user=mysql --innodb-log-file-size=16M "$@"
				if [ ! -d /var/lib/mysql/mysql ]; then
					user=${MARIADB_USER:-${MYSQL_USER:-sessions}}
					pass=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-sessions}}
					db=${MARIADB_DATABASE:-${MYSQL_DATABASE:-sessions}}
					rootpass=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-sessions}}
					mariadb-install-db --skip-test-db "$@" >/dev/null
					mariadbd --bootstrap --skip-networking "$@" <<-SQL
						FLUSH PRIVILEGES;
						CREATE USER 'root'@'%' IDENTIFIED BY '$rootpass';
						GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
						CREATE DATABASE IF NOT EXISTS \`$db\`;
						CREATE USER '$user'@'%' IDENTIFIED BY '$pass';
						GRANT ALL ON \`$db\`.* TO '$user'@'%';
					SQL
				fi
				exec mariadbd --bind-address=0.0.0.0 --port=3306 "$@"
			fi
			exec "$@"
		EOF
		;;
	esac
	chmod +x "$dir/entrypoint.sh"
}

# tag prints the tag of image $1.
tag() {
	case $1 in
	ferretdb) echo "$prefix/ferretdb:$ferretdb_version" ;;
	*) echo "$prefix/$1:$suite" ;;
	esac
}

ferretdb_sources() { cat "$root"/scripts/ferretdb/{go.mod,go.sum,main.go}; }

# build_ferretdb builds the static FerretDB binary with the host's Go.
build_ferretdb() {
	command -v go >/dev/null || die "go is needed to build FerretDB"
	(cd "$root/scripts/ferretdb" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$cache/ferretdb" .)
}

main() {
	command -v docker >/dev/null || die "docker not found"
	docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed)"
	mkdir -p "$cache"
	local images=(redis memcached postgres mariadb ferretdb)

	# Which images are outdated? The base hash covers what goes into the
	# rootfs; a server image's hash covers this script, the base and, for
	# FerretDB, its sources.
	local base_hash want=()
	base_hash=$( (echo "$suite $packages $(mirror)" && declare -f build_base) | sha)
	[ "$(label "$base")" = "$base_hash" ] || want+=(base)
	for i in "${images[@]}"; do
		[ "$(label "$(tag "$i")")" = "$(recipe "$i" "$base_hash")" ] || want+=("$i")
	done
	if [ ${#want[@]} -eq 0 ]; then
		log "images up to date"
		return
	fi
	log "building: ${want[*]}"

	# FerretDB compiles (CPU) while debootstrap downloads (network).
	local gopid=
	if [[ " ${want[*]} " == *" ferretdb "* ]]; then
		log "building FerretDB $ferretdb_version with $(go env GOVERSION)"
		build_ferretdb &
		gopid=$!
	fi
	if [[ " ${want[*]} " == *" base "* ]]; then
		build_base "$base_hash"
	fi
	if [ -n "$gopid" ]; then
		wait "$gopid" || die "building FerretDB failed"
	fi

	# The builds wait mostly on the daemon: run them side by side.
	local pids=() failed=
	for i in "${images[@]}"; do
		[[ " ${want[*]} " == *" $i "* ]] || continue
		context "$i"
		log "building $(tag "$i")"
		docker build --label "sessions.recipe=$(recipe "$i" "$base_hash")" -t "$(tag "$i")" \
			"$cache/ctx/$i" >"$cache/build-$i.log" 2>&1 &
		pids+=("$!:$i")
	done
	for p in "${pids[@]}"; do
		wait "${p%%:*}" || {
			cat "$cache/build-${p#*:}.log"
			failed+=" ${p#*:}"
		}
	done
	[ -z "$failed" ] || die "building failed:$failed"
	docker image prune -f --filter "label=sessions.recipe" >/dev/null
	log "done"
}

# recipe prints the recipe hash of server image $1 on base hash $2.
recipe() {
	{
		echo "$2"
		cat "$self"
		[ "$1" != ferretdb ] || ferretdb_sources
		echo "$1"
	} | sha
}

mkdir -p "$cache"
(
	flock 9 2>/dev/null || true
	main
) 9>"$cache/lock"

if $env_mode; then
	cat >&3 <<-EOF
		export SESSIONS_TEST_IMAGE_REDIS=$(tag redis)
		export SESSIONS_TEST_IMAGE_MEMCACHED=$(tag memcached)
		export SESSIONS_TEST_IMAGE_MONGO=$(tag ferretdb)
		export SESSIONS_TEST_IMAGE_POSTGRES=$(tag postgres)
		export SESSIONS_TEST_IMAGE_MARIADB=$(tag mariadb)
		export TESTCONTAINERS_RYUK_DISABLED=true
	EOF
fi
