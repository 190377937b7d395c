#!/usr/bin/env bash
# Builds a release of queuectl in dist/: static binaries (CGO_ENABLED=0,
# -trimpath, the version stamped in) for linux amd64 and arm64, darwin arm64
# and amd64 and windows amd64; .deb and .rpm packages for linux amd64 and
# arm64, made with nfpm (scripts/nfpm.yaml), that install the binary, its man
# pages (generated from the command tree), shell completions (from the
# binary's completion command), the systemd units and a configuration; and
# SHA256SUMS of them all.
#
# Usage: bash scripts/release.sh [VERSION]
#   VERSION        default: git describe (v1.2.3, v1.2.3-4-gabcdef), else
#                  v0.0.0-dev+COMMIT
#   TARGETS=...    GOOS/GOARCH pairs to build (default: all five above)
#   PACKAGES=...   "deb rpm" (default), "deb", or "" for none
#   COMPLETIONS=skip  package without shell completions, for a tree whose
#                  queuectl has no completion command; otherwise such a tree
#                  fails the release
set -euo pipefail
cd "$(dirname "$0")/.."

nfpm=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
targets=${TARGETS:-linux/amd64 linux/arm64 darwin/arm64 darwin/amd64 windows/amd64}
packages=${PACKAGES-deb rpm}

die() {
	echo "release: $*" >&2
	exit 1
}

version=${1:-}
if [ -z "$version" ]; then
	version=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null) ||
		version="v0.0.0-dev+$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
fi
[[ $version =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-+~][0-9A-Za-z.+~-]*)?$ ]] ||
	die "version $version: want one such as v1.2.3 or v1.2.3-rc.1"
plain=${version#v} # in file names and packages
# Pages and packages dated by the commit, so that a rebuild is the same.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

rm -rf dist
mkdir -p dist/stage
ldflags="-s -w -X main.version=$version"

echo "release: queuectl $version"
for target in $targets; do
	os=${target%/*} arch=${target#*/}
	ext=
	[ "$os" = windows ] && ext=.exe
	out=dist/queuectl_${plain}_${os}_${arch}$ext
	echo "  build $out"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/queuectl
done

if [ -n "$packages" ]; then
	stage=dist/stage
	# A binary for this machine, to ask for what the packages carry.
	CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$stage/host/queuectl" ./cmd/queuectl

	echo "  man pages (from the command tree)"
	go run -tags genman -ldflags "-X main.version=$version" ./cmd/queuectl __genman "$stage/man"
	gzip -n -9 "$stage"/man/*.1

	config=scripts/nfpm.yaml
	mkdir -p "$stage/completions"
	if ! "$stage/host/queuectl" completion bash >"$stage/completions/queuectl.bash" 2>"$stage/completion.err"; then
		if [ "${COMPLETIONS:-}" != skip ]; then
			die "queuectl completion bash failed ($(head -c 300 "$stage/completion.err")): the packages need the shell completions that command prints; add it, or set COMPLETIONS=skip to package without them"
		fi
		echo "  completions: skipped (COMPLETIONS=skip; queuectl has no completion command)"
		config=$stage/nfpm.yaml
		sed '/# completions:begin/,/# completions:end/d' scripts/nfpm.yaml >"$config"
	else
		echo "  completions: bash zsh fish powershell"
		"$stage/host/queuectl" completion zsh >"$stage/completions/_queuectl"
		"$stage/host/queuectl" completion fish >"$stage/completions/queuectl.fish"
		"$stage/host/queuectl" completion powershell >"dist/queuectl_${plain}_completion.ps1"
		cp "$stage/completions/queuectl.bash" "dist/queuectl_${plain}_completion.bash"
		cp "$stage/completions/_queuectl" "dist/queuectl_${plain}_completion.zsh"
		cp "$stage/completions/queuectl.fish" "dist/queuectl_${plain}_completion.fish"
	fi

	for target in $targets; do
		os=${target%/*} arch=${target#*/}
		[ "$os" = linux ] || continue
		cp "dist/queuectl_${plain}_linux_$arch" "$stage/queuectl"
		for packager in $packages; do
			echo "  package $packager for linux/$arch"
			STAGE=$stage ARCH=$arch VERSION=$version \
				go run "$nfpm" package --config "$config" --packager "$packager" --target dist/
		done
	done
	rm -rf "$stage"
fi

(cd dist && sha256sum -- * >SHA256SUMS)
echo "release: dist/"
(cd dist && ls -l)
