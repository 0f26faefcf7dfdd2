#!/usr/bin/env bash
# Builds every release artifact into dist/: static, stripped, reproducible
# binaries for each target, .deb and .rpm packages (nfpm), and the Windows
# agent zip. Prints each artifact with its size.
#
#   packaging/build.sh            # everything
#   packaging/build.sh deb amd64  # one format, one architecture (used by tests)
set -euo pipefail
cd "$(dirname "$0")/.."

formats=${1:-"deb rpm"}
arches=${2:-"amd64 arm64 arm7"}
NFPM=${NFPM:-bin/tools/nfpm}
NFPM_VERSION=v2.45.2

if [ ! -x "$NFPM" ]; then
    echo "installing nfpm $NFPM_VERSION into bin/tools" >&2
    GOBIN="$PWD/bin/tools" CGO_ENABLED=0 go install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
fi

# Version: the tag when HEAD is tagged vX.Y.Z, else a snapshot version that
# sorts before the next release (deb and rpm both accept it).
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
    VERSION=${tag#v}
else
    VERSION="0.1.0~git$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0).${commit}"
fi
export VERSION
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
# Packages of other versions would be mistaken for these ones.
rm -f dist/*.deb dist/*.rpm dist/*.zip
LDFLAGS="-s -w -buildid= -X github.com/outpost-nms/outpost/shared/buildinfo.version=${VERSION}"

build() { # goos goarch binary [package dir]
    local goos=$1 goarch=$2 bin=$3 src=${4:-./${3#outpost-}/cmd/$3} goarm="" dir ext=""
    dir="dist/${goos}_${goarch}"
    if [ "$goarch" = arm7 ]; then goarch=arm; goarm=7; fi
    [ "$goos" = windows ] && ext=.exe
    mkdir -p "$dir"
    CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOARM=$goarm \
        go build -trimpath -ldflags "$LDFLAGS" -o "$dir/$bin$ext" "$src"
}

for arch in $arches; do
    build linux "$arch" outpost-agent
    # MIB names in the agent's config are resolved by a program of its own
    # (the agent does not link the MIB parser); it ships in the agent package.
    build linux "$arch" outpost-agent-mibs ./agent/cmd/outpost-agent-mibs
    # The collector is built for 64-bit servers only.
    [ "$arch" = arm7 ] || build linux "$arch" outpost-collector
    for fmt in $formats; do
        for bin in outpost-agent outpost-collector; do
            [ "$bin" = outpost-collector ] && [ "$arch" = arm7 ] && continue
            mkdir -p dist/stage
            cp "dist/linux_${arch}/$bin" "dist/stage/$bin"
            [ "$bin" = outpost-agent ] && cp "dist/linux_${arch}/outpost-agent-mibs" dist/stage/outpost-agent-mibs
            if ! out=$(ARCH=$arch "$NFPM" package --config "packaging/nfpm/$bin.yaml" --packager "$fmt" --target dist/ 2>&1); then
                echo "$out" >&2
                exit 1
            fi
        done
    done
done

if [ -z "${1:-}" ]; then
    # Windows agent: a zip with the executable, an example config and notes.
    build windows amd64 outpost-agent
    build windows amd64 outpost-agent-mibs ./agent/cmd/outpost-agent-mibs
    stage=$(mktemp -d)
    cp dist/windows_amd64/outpost-agent.exe dist/windows_amd64/outpost-agent-mibs.exe "$stage/"
    cp configs/agent.example.yaml "$stage/agent.yaml"
    cp packaging/windows/README.txt "$stage/"
    find "$stage" -exec touch -d "@$SOURCE_DATE_EPOCH" {} +
    zip="dist/outpost-agent_${VERSION}_windows_amd64.zip"
    rm -f "$zip"
    (cd "$stage" && python3 -c '
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(".")):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, open(name, "rb").read())
' "$OLDPWD/$zip")
    rm -rf "$stage"
fi

rm -rf dist/stage
echo "artifacts in dist/ (version $VERSION):"
find dist -maxdepth 2 -type f \( -name '*.deb' -o -name '*.rpm' -o -name '*.zip' -o -name 'outpost-*' \) -printf '%10s  %p\n' | sort -k2
