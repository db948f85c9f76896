#!/usr/bin/env bash
# The test command: every test, none skipped, on a fresh Debian machine with
# Rust. It first provisions what the tests need and cargo cannot give:
#   - Debian packages man-db (the man-page render), binutils (strip, for
#     the package build), postgresql (the server the PostgreSQL state
#     backend is tested against: tests/integration/support/pg.rs starts a
#     private cluster per test from /usr/lib/postgresql/<version>/bin, and
#     as root runs it as the `postgres` user the package creates) and
#     pgbouncer (the connection pooler it is also tested behind, a private
#     one per test), with apt-get, as root or through sudo;
#   - Debian packages nagios4-core (Nagios 4, /usr/sbin/nagios4) and
#     icinga2 (Icinga 2: /usr/sbin/icinga2 from icinga2-bin, its template
#     library from icinga2-common), without their recommendations (mail
#     server, plugins): tests/integration/support/engines.rs starts a private
#     instance of each in a temp dir and makes it run a recording
#     notification command; as root both run as the `nagios` user these
#     packages create;
#   - Debian packages zsh and fish, without their recommendations: the
#     completion tests (tests/integration/completions.rs) run the generated
#     bash, zsh and fish completions in the real shells;
#   - cargo-deb 3.8.0 (cargo install --locked), and the .deb it builds
#     (pkg/build-deb.sh: a release build), whose contents a test checks;
# then runs `cargo test --locked`. The mail tests need no install: their
# SMTP server is a crate (mailin-embedded) running in the test process.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
command -v man >/dev/null 2>&1 || apt_missing+=(man-db)
command -v strip >/dev/null 2>&1 || apt_missing+=(binutils)
command -v dpkg-deb >/dev/null 2>&1 || apt_missing+=(dpkg)
# Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<ver>/bin.
pg_server=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && [ -x "$d/psql" ] && pg_server="$d"
done
if [ -n "${ESIA_TEST_PG_BIN:-}" ]; then pg_server="$ESIA_TEST_PG_BIN"; fi
# As root the server runs as the `postgres` user, which the package creates.
if [ -z "$pg_server" ] || { [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; }; then
  apt_missing+=(postgresql)
fi
# PgBouncer, the pooler the backend is also tested behind (session and
# transaction modes): tests/integration/support/pg.rs starts a private one.
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || apt_missing+=(pgbouncer)
# The monitoring engines the notification commands are tested under
# (tests/integration/support/engines.rs), installed without recommendations.
apt_bare=()
[ -x /usr/sbin/nagios4 ] || apt_bare+=(nagios4-core)
{ [ -x /usr/sbin/icinga2 ] && [ -d /usr/share/icinga2/include ]; } || apt_bare+=(icinga2)
# As root both engines run as the `nagios` user, which these packages create.
if [ "$(id -u)" -eq 0 ] && ! id nagios >/dev/null 2>&1 && [ ${#apt_bare[@]} -eq 0 ]; then
  apt_bare+=(nagios4-core)
fi
# The shells the completions are tested in (bash is Debian's own shell).
command -v zsh >/dev/null 2>&1 || apt_bare+=(zsh)
command -v fish >/dev/null 2>&1 || apt_bare+=(fish)
apt_all=("${apt_missing[@]}" "${apt_bare[@]}")
if [ ${#apt_all[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${apt_all[*]} (apt-get)"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "tests/run.sh: ${apt_all[*]} missing; install them as root (apt-get install ${apt_all[*]})" >&2
      exit 1
    fi
  fi
  "${sudo[@]}" apt-get update -qq
  if [ ${#apt_missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  fi
  if [ ${#apt_bare[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${apt_bare[@]}" >/dev/null
  fi
fi
if [ "$(id -u)" -eq 0 ] && ! id nagios >/dev/null 2>&1; then
  echo "tests/run.sh: no \`nagios\` user after installing nagios4-core and icinga2" >&2
  exit 1
fi
if [ -z "${ESIA_TEST_PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "tests/run.sh: no PostgreSQL server in /usr/lib/postgresql/<version>/bin after installing postgresql" >&2
  exit 1
fi
if ! cargo deb --version >/dev/null 2>&1; then
  echo "tests/run.sh: installing cargo-deb 3.8.0 (cargo install)"
  cargo install cargo-deb --locked --version 3.8.0
fi

echo "tests/run.sh: building the Debian package (pkg/build-deb.sh)"
bash pkg/build-deb.sh >/dev/null

cargo test --locked "$@"
