# Throw-away PostgreSQL server for the storage tests. Source it (do not run it):
#
#     source .ci/postgres.sh
#
# Installs PostgreSQL when pg_ctl/initdb are absent (Debian: apt-get install postgresql),
# initialises a cluster in /tmp/perturbench-pg-<port> (as user postgres when run as root:
# initdb refuses root), starts it on 127.0.0.1:<port> (default 5433, or the next free one)
# with trust authentication, creates the database `perturbench`, and exports
#
#     PERTURBENCH_TEST_POSTGRES=postgresql://postgres@127.0.0.1:<port>/perturbench
#     PERTURBENCH_REQUIRE_POSTGRES=1
#
# Idempotent: sourcing it again reuses the running server (a second or so). It never exits
# the calling shell; on failure it prints why and returns 1 without exporting anything.
# Settings: PERTURBENCH_PG_PORT (first port to try), PERTURBENCH_PG_ROOT (where clusters go).

_perturbench_pg_bindir() {
    local exe dir
    if exe=$(command -v pg_ctl) && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$exe")"
        return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

_perturbench_pg_setup() {
    local bindir="" user="" port="" dir="" exists="" db=perturbench
    local first_port=${PERTURBENCH_PG_PORT:-5433}
    local root=${PERTURBENCH_PG_ROOT:-/tmp}

    if ! bindir=$(_perturbench_pg_bindir); then
        if [ "$(id -u)" != 0 ]; then
            echo "postgres.sh: PostgreSQL is not installed and this is not root" >&2
            return 1
        fi
        echo "postgres.sh: installing PostgreSQL" >&2
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -qq postgresql >/dev/null; then
            apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null || {
                echo "postgres.sh: apt-get install postgresql failed" >&2
                return 1
            }
        fi
        bindir=$(_perturbench_pg_bindir) || {
            echo "postgres.sh: no pg_ctl/initdb after installing postgresql" >&2
            return 1
        }
    fi

    # initdb and the server refuse to run as root: use the account `postgres`.
    local -a as_user=()
    if [ "$(id -u)" = 0 ]; then
        user=postgres
        if ! id "$user" >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || {
                echo "postgres.sh: cannot create the user $user" >&2
                return 1
            }
        fi
        if command -v runuser >/dev/null 2>&1; then
            as_user=(runuser -u "$user" --)
        else
            as_user=(su "$user" -s /bin/sh -c)
        fi
    fi
    run_as() {
        if [ ${#as_user[@]} -eq 0 ]; then
            "$@"
        elif [ "${as_user[0]}" = su ]; then
            "${as_user[@]}" "$(printf '%q ' "$@")"
        else
            "${as_user[@]}" "$@"
        fi
    }

    # The first port from first_port on that either runs our cluster or is free.
    local p found=""
    for p in $(seq "$first_port" $((first_port + 20))); do
        dir="$root/perturbench-pg-$p"
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$p" -t 2; then
            # A server answers: use it if it is ours (or lets postgres in without password).
            if PGCONNECT_TIMEOUT=3 "$bindir/psql" -h 127.0.0.1 -p "$p" -U postgres -d postgres \
                -w -tAc 'SELECT 1' >/dev/null 2>&1; then
                found=$p
                break
            fi
            continue
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            continue # something else listens there
        fi
        found=$p
        if [ ! -s "$dir/PG_VERSION" ]; then
            rm -rf "$dir"
            mkdir -p "$dir"
            [ -n "$user" ] && chown "$user" "$dir"
            chmod 700 "$dir"
            run_as "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale \
                >"$dir.initdb.log" 2>&1 || {
                echo "postgres.sh: initdb failed; see $dir.initdb.log" >&2
                return 1
            }
        fi
        # A stale pid file from a killed server would stop pg_ctl.
        if [ -f "$dir/postmaster.pid" ] && ! run_as "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
            rm -f "$dir/postmaster.pid"
        fi
        run_as "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $p -k $dir -c max_connections=200 \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null || {
            echo "postgres.sh: the server did not start; see $dir/server.log" >&2
            return 1
        }
        break
    done
    if [ -z "$found" ]; then
        echo "postgres.sh: no free port in $first_port..$((first_port + 20))" >&2
        return 1
    fi
    port=$found

    exists=$("$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -w -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'" 2>/dev/null || true)
    if [ "$exists" != 1 ]; then
        "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres -w "$db" || {
            echo "postgres.sh: cannot create the database $db on port $port" >&2
            return 1
        }
    fi
    export PERTURBENCH_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$port/$db"
    export PERTURBENCH_REQUIRE_POSTGRES=1
    echo "postgres.sh: PostgreSQL ready at $PERTURBENCH_TEST_POSTGRES" >&2
}

_perturbench_pg_status=0
_perturbench_pg_setup || _perturbench_pg_status=$?
unset -f _perturbench_pg_setup _perturbench_pg_bindir run_as
if [ "$_perturbench_pg_status" != 0 ]; then
    unset _perturbench_pg_status
    return 1 2>/dev/null || exit 1
fi
unset _perturbench_pg_status
