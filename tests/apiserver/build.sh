#!/usr/bin/env bash
# Build the CRD-only API server (cmd/crd-apiserver) and fetch etcd, from
# Debian packages only, without installing anything on this machine.
#
#   - Go toolchain + k8s.io/apiextensions-apiserver and its whole dependency
#     closure come from Debian sid as golang-*-dev source packages;
#   - etcd comes from Debian bookworm's etcd-server;
#   - everything is fetched with `apt-get download` through a private apt
#     configuration (own sources.list, state and cache directories) and
#     unpacked with `dpkg-deb -x` into the cache.
#
# Output (cached; a second run returns in well under a second):
#   $MCPGW_CACHE/apiserver/bin/crd-apiserver
#   $MCPGW_CACHE/apiserver/bin/etcd
# MCPGW_CACHE defaults to ~/.cache/mcpgw.
#
# Environment:
#   MCPGW_APISERVER_REFRESH=1  re-run `apt-get update` and re-resolve the
#                              package set (otherwise the versions pinned in
#                              packages.lock at the first build are reused)
#   MCPGW_DEBIAN_MIRROR=URL    Debian mirror (default: the one this machine's
#                              apt sources use)
#   MCPGW_ETCD_SUITE=suite     suite to take etcd-server from (default bookworm)
#
# All progress goes to stderr; the last line on stdout is the binary's path.
set -euo pipefail

t0=$(date +%s.%N)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${MCPGW_CACHE:-$HOME/.cache/mcpgw}/apiserver"
etcd_suite="${MCPGW_ETCD_SUITE:-bookworm}"
# The roots of the Go dependency closure.
roots=(golang-k8s-apiextensions-apiserver-dev golang-go)

log() { printf '[apiserver/build] %s\n' "$*" >&2; }
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$cache"
# One build at a time per cache (tests may start several servers at once).
exec 9>"$cache/.build.lock"
flock 9

src_hash=$(cat "$0" "$here"/cmd/crd-apiserver/*.go | sha256sum | cut -d' ' -f1)
lock="$cache/packages.lock"
stamp="$cache/stamp"
want_stamp() { printf '%s\n' "$(cat "$lock" | sha256sum | cut -d' ' -f1)-$src_hash"; }

if [[ -z "${MCPGW_APISERVER_REFRESH:-}" && -s "$lock" && -s "$stamp" &&
      -x "$cache/bin/crd-apiserver" && -x "$cache/bin/etcd" &&
      "$(cat "$stamp")" == "$(want_stamp)" ]]; then
    log "up to date (cached) in $(elapsed)s"
    echo "$cache/bin/crd-apiserver"
    exit 0
fi

# ---------------------------------------------------------------------------
# Private apt configuration. Nothing under /etc/apt or /var/lib/apt is written:
# APT_CONFIG is read first, and it points every directory apt uses (state,
# cache, sources, parts, preferences) into $cache/apt.
# ---------------------------------------------------------------------------
mirror_from_system() {
    # The Debian archive this machine uses for its own release (deb822 .sources
    # or one-line .list files; disabled files are ignored).
    local codename f
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        case "$f" in
        *.sources)
            awk -v cn="$codename" '
                function flush() { if (uris != "" && (" " suites " ") ~ (" " cn " ") && comps ~ /main/) { split(uris, u, " "); print u[1]; found = 1; exit } uris = suites = comps = "" }
                /^[ \t]*$/ { flush(); next }
                /^URIs:/ { $1 = ""; uris = $0 } /^Suites:/ { $1 = ""; suites = $0 } /^Components:/ { $1 = ""; comps = $0 }
                END { if (!found) flush() }' "$f" ;;
        *)
            # deb [opts] URI suite components...
            sed -E -n "s/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+${codename}[[:space:]].*main.*/\2/p" "$f" ;;
        esac
    done | head -n1 | sed -E 's/^[[:space:]]+//; s#/+$##'
}

apt_dir="$cache/apt"
mkdir -p "$apt_dir"/etc/{apt.conf.d,sources.list.d,preferences.d} "$apt_dir"/state/lists/partial \
         "$apt_dir"/cache/archives/partial
: >>"$apt_dir/state/status"
mirror="${MCPGW_DEBIAN_MIRROR:-$(mirror_from_system)}"
[[ -n "$mirror" ]] || die "could not find the Debian mirror in /etc/apt/sources.list(.d); set MCPGW_DEBIAN_MIRROR"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f "$keyring" ]] || die "$keyring missing (package debian-archive-keyring)"
cat >"$apt_dir/etc/sources.list" <<EOF
deb [signed-by=$keyring] $mirror sid main
deb [signed-by=$keyring] $mirror $etcd_suite main
EOF
cat >"$apt_dir/apt.conf" <<EOF
Dir::State "$apt_dir/state";
Dir::State::status "$apt_dir/state/status";
Dir::Cache "$apt_dir/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Etc "$apt_dir/etc";
Dir::Etc::sourcelist "$apt_dir/etc/sources.list";
Dir::Etc::sourceparts "$apt_dir/etc/sources.list.d";
Dir::Etc::parts "$apt_dir/etc/apt.conf.d";
Dir::Etc::preferences "$apt_dir/etc/preferences";
Dir::Etc::preferencesparts "$apt_dir/etc/preferences.d";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
Acquire::Check-Valid-Until "false";
APT::Sandbox::User "root";
EOF
export APT_CONFIG="$apt_dir/apt.conf"

apt_update() {
    log "apt-get update (private config, mirror $mirror: sid + $etcd_suite)"
    apt-get -q update >&2
}

# ---------------------------------------------------------------------------
# Resolve the package set: the dependency closure of the roots, keeping only
# Go source packages (golang-*-dev) and the toolchain (golang-go,
# golang-1.NN-go, golang-1.NN-src). Virtual packages show up as <name>; their
# providers are part of the recursion, so dropping the <...> lines is enough.
# Pinned as name=version in packages.lock.
# ---------------------------------------------------------------------------
resolve() {
    local pkgs
    log "resolving the dependency closure of ${roots[*]}"
    mapfile -t pkgs < <(
        apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
            --no-breaks --no-replaces --no-enhances "${roots[@]}" |
        grep -v '^ ' | grep -E '^golang-.*-dev$|^golang-go$|^golang-1\.[0-9]+-(go|src)$' | sort -u)
    (( ${#pkgs[@]} > 0 )) || die "dependency resolution found nothing"
    {
        # The candidate of each is sid's (sid's versions are higher than the
        # release's wherever both have a package).
        apt-cache show --no-all-versions "${pkgs[@]}" |
            awk '/^Package:/ { p = $2 } /^Version:/ { print p "=" $2 }'
        apt-cache show "etcd-server/$etcd_suite" 2>/dev/null | awk '/^Version:/ { print "etcd-server=" $2; exit }'
    } | sort -u >"$lock.new"
    grep -q '^etcd-server=' "$lock.new" || die "etcd-server not found in $etcd_suite"
    grep -q '^golang-k8s-apiextensions-apiserver-dev=' "$lock.new" || die "golang-k8s-apiextensions-apiserver-dev not found in sid"
    mv "$lock.new" "$lock"
    log "$(wc -l <"$lock") packages pinned in $lock"
}

# Download the pinned set and unpack it into $root (the toolchain and Go
# sources at their Debian paths, etcd under $root/etcd).
fetch_and_unpack() {
    rm -rf "$cache/debs" "$root" "$root.tmp"
    mkdir -p "$cache/debs" "$root.tmp"
    log "apt-get download ($(wc -l <"$lock") packages)"
    (cd "$cache/debs" && xargs -a "$lock" apt-get -q download >&2) || return 1
    log "dpkg-deb -x"
    local d
    for d in "$cache"/debs/*.deb; do
        case "$(basename "$d")" in etcd-server_*) continue ;; esac
        dpkg-deb -x "$d" "$root.tmp" || die "dpkg-deb -x $d failed"
    done
    mkdir -p "$root.tmp/etcd"
    dpkg-deb -x "$cache"/debs/etcd-server_*.deb "$root.tmp/etcd" || die "dpkg-deb -x etcd-server failed"
    sha256sum "$lock" | cut -d' ' -f1 >"$root.tmp/.lock-hash"
    mv "$root.tmp" "$root"
    rm -rf "$cache/debs" # the unpacked tree is all we need
}

root="$cache/root"
resolved=""
if [[ -n "${MCPGW_APISERVER_REFRESH:-}" || ! -s "$lock" ]]; then
    apt_update
    resolve
    resolved=1
fi
if [[ "$(cat "$root/.lock-hash" 2>/dev/null)" != "$(sha256sum "$lock" | cut -d' ' -f1)" ]]; then
    compgen -G "$apt_dir/state/lists/*_Packages*" >/dev/null || apt_update
    if ! fetch_and_unpack; then
        [[ -z "$resolved" ]] || die "apt-get download failed"
        # sid drops superseded versions from the mirror: re-resolve once.
        log "pinned versions are no longer all on the mirror; re-resolving"
        apt_update
        resolve
        fetch_and_unpack || die "apt-get download failed"
    fi
fi

# ---------------------------------------------------------------------------
# Build offline in GOPATH mode: Debian's Go packages install their sources
# under /usr/share/gocode/src/<import path> (no go.mod-based module cache), so
# GO111MODULE=off with GOPATH pointing at that tree resolves every import.
# ---------------------------------------------------------------------------
goroot=$(ls -d "$root"/usr/lib/go-1.*/ 2>/dev/null | sort -V | tail -n1)
goroot=${goroot%/}
[[ -x "$goroot/bin/go" ]] || die "no Go toolchain unpacked under $root/usr/lib"
mkdir -p "$cache/gopath" "$cache/gocache" "$cache/bin"
ln -sfn "$root/usr/share/gocode/src" "$cache/gopath/src"

# golang-k8s-*-dev 0.MINOR.PATCH is Kubernetes 1.MINOR.PATCH; stamp it into
# the binary so /version reports a parseable version (kubectl, kube-rs).
k8s_ver=$(sed -n 's/^golang-k8s-apiextensions-apiserver-dev=\([0-9]*:\)\{0,1\}0\.\([0-9]*\)\.\([0-9]*\).*/1.\2.\3/p' "$lock")
[[ -n "$k8s_ver" ]] || k8s_ver=0.0.0
vpkg=k8s.io/component-base/version
ldflags="-s -w -X $vpkg.gitVersion=v$k8s_ver -X $vpkg.gitMajor=${k8s_ver%%.*} -X $vpkg.gitMinor=$(cut -d. -f2 <<<"$k8s_ver") -X $vpkg.gitTreeState=clean"

log "go build ($("$goroot/bin/go" version | cut -d' ' -f3), k8s.io/apiextensions-apiserver v$k8s_ver; ~5 min from scratch on 2 cores)"
(
    cd "$here/cmd/crd-apiserver"
    env -i PATH="$goroot/bin:/usr/bin:/bin" HOME="$HOME" \
        GOROOT="$goroot" GOPATH="$cache/gopath" GOCACHE="$cache/gocache" \
        GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local GOTELEMETRY=off \
        GOENV=off CGO_ENABLED=0 \
        go build -trimpath -ldflags "$ldflags" -o "$cache/bin/crd-apiserver.new" .
)
mv "$cache/bin/crd-apiserver.new" "$cache/bin/crd-apiserver"
install -m 0755 "$root/etcd/usr/bin/etcd" "$cache/bin/etcd"

want_stamp >"$stamp"
log "built $cache/bin/crd-apiserver and $cache/bin/etcd ($("$cache/bin/etcd" --version | head -n1)) in $(elapsed)s"
echo "$cache/bin/crd-apiserver"
