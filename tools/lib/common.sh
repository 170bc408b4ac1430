# Shared set-up for the scripts in tools/: find Swift, install the system libraries the
# engine links against when they are missing, and move to the package root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null 2>&1 || { echo "error: swift is not on PATH; install Swift 6 first" >&2; exit 1; }

# as_root CMD...: run as root, through sudo when needed.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
        echo "error: need root to run: $*" >&2; exit 1
    fi
}

# ensure_apt PKG...: install the Debian packages that are not installed yet.
ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]}" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_apt libzstd-dev liblz4-dev libhiredis-dev

# ensure_pip MODULE...: install the Python packages (named as imported) that python3 cannot
# import yet, with pip: into the interpreter's own site, else the user's, else past Debian's
# "externally managed" guard, for the user only.
ensure_pip() {
    command -v python3 >/dev/null 2>&1 || ensure_apt python3 python3-pip
    local missing=()
    for module in "$@"; do
        python3 -c "import $module" >/dev/null 2>&1 || missing+=("$module")
    done
    [ ${#missing[@]} -eq 0 ] && return
    python3 -m pip --version >/dev/null 2>&1 || ensure_apt python3-pip
    echo "installing ${missing[*]} with pip" >&2
    python3 -m pip install --quiet "${missing[@]}" 2>/dev/null \
        || python3 -m pip install --quiet --user "${missing[@]}" 2>/dev/null \
        || python3 -m pip install --quiet --user --break-system-packages "${missing[@]}"
}

# swift_build ARGS...: `swift build ARGS`, and once more after dropping the build plan when
# it names an older set of source files. SwiftPM keeps the plan of a package that depends on
# this one by path (Benchmarks/, Fuzz/) when a file of this one is added or removed, and then
# refuses to build ("missing inputs", or a type of the new file not found) until the plan is
# made anew.
swift_build() {
    local scratch=".build" prev="" arg log status
    for arg in "$@"; do
        [ "$prev" = "--scratch-path" ] && scratch="$arg"
        prev="$arg"
    done
    log="$(mktemp)"
    set +e
    swift build "$@" 2>&1 | tee "$log" >&2
    status=${PIPESTATUS[0]}
    set -e
    # A build plan made before a source file of the engine was added or removed names the
    # old set of files (seen as 'missing inputs', or as a type the new file holds not being
    # found): a failed build is tried once more with the plan made anew.
    if [ "$status" -ne 0 ] && grep -qE "because of missing inputs|cannot find (type )?'[A-Za-z]+' in scope" "$log"; then
        echo "the build plan in $scratch may name an older set of the engine's files; making it anew" >&2
        rm -f "$scratch"/debug.yaml "$scratch"/release.yaml "$scratch"/*/debug/description.json "$scratch"/*/release/description.json
        rm -f "$log"
        swift build "$@" >&2
        return
    fi
    rm -f "$log"
    return "$status"
}

# pip_install ARGS...: `pip install ARGS` into the interpreter's own site, else the user's,
# else past Debian's "externally managed" guard, for the user only.
pip_install() {
    python3 -m pip --version >/dev/null 2>&1 || ensure_apt python3-pip
    python3 -m pip install --quiet "$@" 2>/dev/null \
        || python3 -m pip install --quiet --user "$@" 2>/dev/null \
        || python3 -m pip install --quiet --user --break-system-packages "$@"
}

# install_python_package: `pip install ./python`, which builds liblogcache.so in release
# mode (in .build-python) and installs the logcache package with it.
install_python_package() {
    echo "installing the logcache Python package (pip install ./python)" >&2
    pip_install --upgrade ./python
}
