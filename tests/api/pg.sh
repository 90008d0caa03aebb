#!/usr/bin/env bash
# A throwaway PostgreSQL for the API tests.
#
#   tests/api/pg.sh start DIR   initdb in DIR/data, listen on 127.0.0.1 only on a free port, unix
#                               socket in DIR, trust auth; prints
#                               postgresql://postgres@127.0.0.1:PORT/postgres
#   tests/api/pg.sh stop DIR    stops it (the directory is left for the caller to remove)
#
# PostgreSQL refuses to run as root, so as root everything runs as the `postgres` user through
# runuser, and DIR is handed to that user.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

find_bindir() {
	local d
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return; fi
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return; fi
	done
	die "no PostgreSQL server binaries (initdb, pg_ctl) found; install the postgresql package"
}

as_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
	local dir=$1 bin port try
	bin=$(find_bindir)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[[ -e "$dir/data/PG_VERSION" ]] && die "$dir/data already holds a cluster"
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user"
		chown postgres: "$dir"
		chmod 700 "$dir"
	fi
	as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
		--no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
	# Another process may take the port between choosing and binding it: try a few.
	for try in 1 2 3 4 5; do
		port=$(free_port)
		if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=200" \
			start >/dev/null 2>&1; then
			echo "$port" >"$dir/port"
			echo "postgresql://postgres@127.0.0.1:$port/postgres"
			return 0
		fi
		as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	done
	tail -n 20 "$dir/postgres.log" >&2 || true
	die "PostgreSQL did not start"
}

stop() {
	local dir=$1 bin
	bin=$(find_bindir)
	[[ -e "$dir/data/postmaster.pid" ]] || { echo "pg.sh: not running in $dir" >&2; return 0; }
	as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
}

case "${1:-}" in
start) [[ $# -eq 2 ]] || die "usage: pg.sh start DIR"; start "$2" ;;
stop) [[ $# -eq 2 ]] || die "usage: pg.sh stop DIR"; stop "$2" ;;
*) echo "usage: pg.sh start DIR | pg.sh stop DIR" >&2; exit 2 ;;
esac
