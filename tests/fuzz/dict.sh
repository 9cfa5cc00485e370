#!/bin/sh
# tests/fuzz/dict.sh NAME - the -dict= option of target NAME (empty if none):
# tests/fuzz/NAME-without-fuzz_.dict, or the one it shares.
t=${1#fuzz_}
case $t in
jpeg_*) t=decode ;;
esac
[ -f "tests/fuzz/$t.dict" ] && echo "-dict=tests/fuzz/$t.dict"
exit 0
