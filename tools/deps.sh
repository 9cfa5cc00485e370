#!/bin/sh
# Installs the Debian packages phmatch needs to build, test and benchmark.
# Does nothing when all are present; otherwise runs apt-get update first.
set -eu

# build: compiler, image libraries, LMDB, OpenSSL (digests), jansson (JSON),
# FFmpeg's libraries (video)
PKGS="gcc make pkg-config libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev liblmdb-dev libssl-dev libjansson-dev"
# more image formats: WebP, GIF, TIFF, HEIF/AVIF (libheif brings its HEVC and
# AV1 decoders as plugins), JPEG XL
PKGS="$PKGS libwebp-dev libgif-dev libtiff-dev libheif-dev libjxl-dev"
PKGS="$PKGS libavformat-dev libavcodec-dev libswscale-dev libavutil-dev"
# hash lists: libxml2 reads NCMEC's XML lists (a streaming reader)
PKGS="$PKGS libxml2-dev"
# phmatchd: libmicrohttpd (HTTP, with GnuTLS for TLS); jansson is above
PKGS="$PKGS libmicrohttpd-dev"
# tests: clang + its runtimes for libFuzzer and OpenMP (the library's index
# rebuild is OpenMP code), the jpeg tools that make test files, ffmpeg
# (generates test and benchmark videos), python3 (checks CSV/JSON output with
# real parsers), openssl (makes the service's TLS test certificate)
PKGS="$PKGS clang libclang-rt-14-dev libomp-14-dev libjpeg-turbo-progs lmdb-utils curl ffmpeg"
PKGS="$PKGS python3 openssl"
# format conformance: ImageMagick writes the test images and gives the
# reference decode of each; djxl for JPEG XL (ImageMagick 6 cannot read it);
# the format libraries' own tools are the benchmark's yardsticks
PKGS="$PKGS imagemagick libjxl-tools webp libtiff-tools libheif-examples"
# match --report: tests/cli/report.sh renders the HTML summary in headless
# Chromium (--dump-dom, --screenshot) and checks what it shows
PKGS="$PKGS chromium"
# service replicas: tests/cli/replicas.sh runs two read-only phmatchd behind
# HAProxy (tools/haproxy/) under load from wrk; tests/cli/snapshot.sh uses wrk
PKGS="$PKGS haproxy wrk"

# Debian packages (make deb, tests/cli/deb.sh): dpkg-buildpackage with
# debhelper builds them from the tracked files (git), lintian checks them,
# systemd-analyze checks the unit (systemd-sysusers makes its user)
PKGS="$PKGS build-essential dpkg-dev debhelper lintian git systemd"
# tools/slurm/: tests/cli/slurm.sh starts a one-node Slurm cluster on this
# machine (slurmctld, slurmd, the client commands) with MUNGE authentication
PKGS="$PKGS slurm-wlm munge"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "phmatch: missing Debian packages:$missing" >&2
    echo "phmatch: run 'make deps' as root, or: apt-get install$missing" >&2
    exit 1
fi
echo "phmatch: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
