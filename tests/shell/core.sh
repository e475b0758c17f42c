#!/bin/sh
# core.sh: placeholder until it lands.
echo "1..0 # SKIP not written yet"
