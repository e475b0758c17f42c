#!/bin/sh
# Regenerate the build system: ./autogen.sh && ./configure && make
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --install --force --warnings=all
# The TAP driver is not installed by autoreconf; the test harness needs it.
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
