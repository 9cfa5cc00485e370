#!/bin/sh
# service_safe.sh - phmatchd's smaller safety checks of issue 12 (points 4
# and 8): no cleartext TCP on an address that is not loopback unless
# allow_cleartext (refused with a reason, or a warning in the log), the
# same checks in `phmatchd -n` (audit log mode too), a token file that is a
# symbolic link, two Content-Length headers refused with a JSON 400, and
# the answers libmicrohttpd makes itself (docs/SERVICE.md lists them).
# Servers listen only on Unix sockets and 127.0.0.1/::1; a non-loopback
# address is only checked (-n) or given one that is not on this machine
# (192.0.2.1, TEST-NET-1), so that nothing ever listens beyond loopback.
# TAP on stdout. Needs curl; the raw-request tests need python3.
. "$(dirname "$0")/lib.sh"

case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd

if ! t_have curl; then
    echo "1..0 # SKIP curl not installed (make deps installs it)"
    exit 0
fi
if [ ! -x "$PHMATCHD" ]; then
    t_fail "built: $PHMATCHD"
    t_done
fi

TOKEN=admin-token-0123456789abcdef
printf 'ops admin %s\n' "$TOKEN" >"$T/tokens"
chmod 600 "$T/tokens"

trap 'svc_kill_all; t_cleanup' EXIT

start() { svc_start "$@"; }
stop() { svc_stop "$1"; }
req() {
    curl -s -m 20 -o "$T/out" -w '%{http_code}' "$@"
}

# ---------------------------------------------------------------------------
# Cleartext on a non-loopback address.

"$PHMATCHD" -n --socket '' --listen 0.0.0.0:0 --tokens "$T/tokens" >/dev/null \
    2>"$T/ct.err"
t_is "-n: 0.0.0.0 without TLS is refused (exit 2)" "$?" 2
t_like "... naming the address and the fixes" "$(cat "$T/ct.err")" \
    "refusing to listen on 0.0.0.0:0 without TLS: it is not a loopback address.*set tls_cert and tls_key, listen on 127.0.0.1 or \[::1\], or set allow_cleartext (--allow-cleartext)"
"$PHMATCHD" --socket '' --listen '[::]:0' --tokens "$T/tokens" >/dev/null 2>"$T/ct6.err"
t_is "start: [::] without TLS is refused (exit 2)" "$?" 2
t_like "... saying why" "$(cat "$T/ct6.err")" "refusing to listen on \[::\]:0 without TLS"
"$PHMATCHD" --socket '' --listen 192.0.2.1:0 --tokens "$T/tokens" >/dev/null \
    2>"$T/ct4.err"
t_is "start: 192.0.2.1 without TLS is refused (exit 2)" "$?" 2
cat >"$T/ct.conf" <<EOF
socket =
listen = 10.1.2.3:8731
tokens = $T/tokens
EOF
"$PHMATCHD" -c "$T/ct.conf" -n >/dev/null 2>"$T/ctc.err"
t_is "-n: the same from a configuration file" "$?" 2
echo "allow_cleartext = yes" >>"$T/ct.conf"
"$PHMATCHD" -c "$T/ct.conf" -n >"$T/ctc.out" 2>"$T/ctc.err"
t_is "-n: allow_cleartext = yes in the file allows it" "$?" 0
t_like "... with a warning" "$(cat "$T/ctc.err")" \
    "warning: 10.1.2.3:8731 serves plain HTTP (allow_cleartext)"
t_like "... and the setting is printed" "$(cat "$T/ctc.out")" "^allow_cleartext = yes$"
# The real start warns before it binds; 192.0.2.1 is not on this machine,
# so the bind fails and nothing listens.
"$PHMATCHD" --socket '' --listen 192.0.2.1:0 --tokens "$T/tokens" --allow-cleartext \
    >/dev/null 2>"$T/ctw.err"
t_like "start --allow-cleartext: a warning in the log" "$(cat "$T/ctw.err")" \
    "warn.*listen 192.0.2.1:0 is not a loopback address and serves plain HTTP"
for a in 127.0.0.1:0 127.1.2.3:0 '[::1]:0' localhost:0 '[::ffff:127.0.0.1]:0'; do
    "$PHMATCHD" -n --socket '' --listen "$a" --tokens "$T/tokens" >/dev/null 2>"$T/lo.err"
    t_is "-n: loopback $a needs no TLS" "$?" 0
    t_ok "... and no warning" test "$(grep -c 'plain HTTP' "$T/lo.err")" -eq 0
done
if start lo --socket '' --listen 127.0.0.1:0 --tokens "$T/tokens" --threads 1; then
    t_is "start: loopback unaffected" \
        "$(req -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics")" 200
    t_ok "... without a cleartext warning" test "$(grep -c 'plain HTTP' "$T/lo.log")" -eq 0
    stop "$PID"
else
    t_fail "start: loopback unaffected"
    t_diag "$(cat "$T/lo.log")"
fi

# ---------------------------------------------------------------------------
# phmatchd -n checks the audit log as the start does.

: >"$T/audit-open.jsonl"
chmod 644 "$T/audit-open.jsonl"
"$PHMATCHD" -n --socket "$T/x.sock" --audit-log "$T/audit-open.jsonl" >/dev/null \
    2>"$T/au.err"
rc=$?
t_ok "-n: an audit log of mode 0644 is refused (exit $rc)" test "$rc" -ne 0
t_like "... as the start refuses it" "$(cat "$T/au.err")" \
    "audit log '.*audit-open.jsonl' must be a regular file of mode 0600 (it is 0644)"
"$PHMATCHD" --socket "$T/x.sock" --audit-log "$T/audit-open.jsonl" >/dev/null \
    2>"$T/au-start.err"
rc=$?
t_ok "... (the start: exit $rc, the same message)" \
    sh -c "test $rc -ne 0 && grep -q 'must be a regular file of mode 0600' '$T/au-start.err'"
chmod 600 "$T/audit-open.jsonl"
"$PHMATCHD" -n --socket "$T/x.sock" --audit-log "$T/audit-open.jsonl" >/dev/null 2>&1
t_is "-n: mode 0600 passes" "$?" 0
"$PHMATCHD" -n --socket "$T/x.sock" --audit-log "$T/new-audit.jsonl" >/dev/null 2>&1
t_is "-n: a missing audit log in a writable directory passes" "$?" 0
t_ok "... and -n does not create it" test ! -e "$T/new-audit.jsonl"
"$PHMATCHD" -n --socket "$T/x.sock" --audit-log "$T/no/such/dir/a.jsonl" >/dev/null \
    2>"$T/au2.err"
rc=$?
t_ok "-n: an audit log in a missing directory is refused (exit $rc)" test "$rc" -ne 0
t_like "... saying so" "$(cat "$T/au2.err")" "cannot create audit log"
ln -s "$T/audit-open.jsonl" "$T/audit-link.jsonl"
"$PHMATCHD" -n --socket "$T/x.sock" --audit-log "$T/audit-link.jsonl" >/dev/null 2>&1
rc=$?
t_ok "-n: an audit log that is a symbolic link is refused, as at start (exit $rc)" \
    test "$rc" -ne 0

# ---------------------------------------------------------------------------
# A token file that is a symbolic link (a Kubernetes secret).

mkdir -p "$T/secret/..2026_12_04"
cp "$T/tokens" "$T/secret/..2026_12_04/tokens"
chmod 600 "$T/secret/..2026_12_04/tokens"
ln -s ..2026_12_04 "$T/secret/..data"
ln -s ..data/tokens "$T/secret/tokens"
"$PHMATCHD" -n --socket '' --listen 127.0.0.1:0 --tokens "$T/secret/tokens" >/dev/null \
    2>"$T/tl.err"
t_is "-n: a token file behind symbolic links is read" "$?" 0
t_like "... its tokens counted" "$(cat "$T/tl.err")" "configuration OK (1 token)"
if start link --socket '' --listen 127.0.0.1:0 --tokens "$T/secret/tokens" --threads 1; then
    t_is "start: the token works" \
        "$(req -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics")" 200
    t_is "... and another is refused" \
        "$(req -H "Authorization: Bearer x$TOKEN" "http://127.0.0.1:$PORT/metrics")" 401
    stop "$PID"
else
    t_fail "start: the token works"
    t_diag "$(cat "$T/link.log")"
fi
chmod 644 "$T/secret/..2026_12_04/tokens"
"$PHMATCHD" -n --socket '' --listen 127.0.0.1:0 --tokens "$T/secret/tokens" >/dev/null \
    2>"$T/tl2.err"
rc=$?
t_ok "-n: the target's mode is still checked (exit $rc)" test "$rc" -ne 0
t_like "... naming the mode" "$(cat "$T/tl2.err")" "accessible by group or others (mode 0644)"

# ---------------------------------------------------------------------------
# Raw requests: Content-Length twice, libmicrohttpd's own answers.

if ! t_python; then
    t_skip "raw HTTP requests" "python3 not available"
    t_done
fi
if ! start raw --socket "$T/raw.sock" --threads 1 --max-body 4KiB --max-body-memory 1MiB \
    --connection-timeout 2; then
    t_fail "start a server on a Unix socket"
    t_diag "$(cat "$T/raw.log")"
    t_done
fi
# raw NAME - sends standard input over the Unix socket; prints the status
# line's code and the Content-Type, the body to $T/NAME.body.
raw() {
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
out = b""
try:
    while len(out) < 1 << 20:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError:
    pass
head, _, body = out.partition(b"\r\n\r\n")
lines = head.split(b"\r\n")
code = lines[0].split(b" ")[1].decode() if len(lines[0].split(b" ")) > 1 else "none"
ct = [l.split(b":", 1)[1].strip().decode() for l in lines[1:]
      if l.lower().startswith(b"content-type:")]
open(sys.argv[2], "wb").write(body)
print(code, ct[0] if ct else "-")
' "$T/raw.sock" "$T/$1.body"
}
hdr() { printf '%s\r\n' "$@"; printf '\r\n'; }

hdr "POST /v1/hash HTTP/1.1" "Host: x" "Content-Type: application/octet-stream" \
    "Content-Length: 5" "Content-Length: 6" "Connection: close" >"$T/req"
printf 'abcdef' >>"$T/req"
t_is "two different Content-Length headers: 400, JSON" "$(raw dup <"$T/req")" \
    "400 application/json"
t_like "... saying why" "$(cat "$T/dup.body")" \
    '"code":"bad_request","message":"more than one Content-Length header"'
hdr "GET /healthz HTTP/1.1" "Host: x" "Content-Length: 0" "content-length: 0" \
    "Connection: close" >"$T/req"
t_is "two equal Content-Length headers (any case) too" "$(raw dup2 <"$T/req")" \
    "400 application/json"
hdr "POST /v1/hash HTTP/1.1" "Host: x" "Content-Type: application/octet-stream" \
    "Content-Length: 100000" "Connection: close" >"$T/req"
t_is "a body over max_body: phmatchd's 413, JSON" "$(raw big <"$T/req")" \
    "413 application/json"
hdr "GET /healthz HTTP/1.1" "Host: x" "Connection: close" >"$T/req"
t_is "... and the server still answers" "$(raw ok <"$T/req")" "200 application/json"

# libmicrohttpd's own answers (documented in docs/SERVICE.md): the status
# is right, the body is its HTML, which no option replaces.
python3 -c 'import sys; sys.stdout.write("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 70000 + "\r\n\r\n")' >"$T/req"
t_like "headers over 64 KiB: libmicrohttpd's 431" "$(raw h431 <"$T/req")" "^431 "
python3 -c 'import sys; sys.stdout.write("GET /" + "a" * 70000 + " HTTP/1.1\r\nHost: x\r\n\r\n")' >"$T/req"
t_like "a request line over 64 KiB: libmicrohttpd's 414" "$(raw h414 <"$T/req")" "^414 "
hdr "GET /healthz HTTP/2.5" "Host: x" >"$T/req"
t_like "an unknown HTTP version: libmicrohttpd's 505" "$(raw h505 <"$T/req")" "^505 "
hdr "POST /v1/hash HTTP/1.1" "Host: x" "Content-Type: application/octet-stream" \
    "Content-Length: abc" >"$T/req"
t_like "a Content-Length that is not a number: libmicrohttpd's 400" \
    "$(raw h400 <"$T/req")" "^400 "
hdr "GET /healthz HTTP/1.1" "Host: x" "Connection: close" >"$T/req"
t_is "after all that the server still answers" "$(raw ok2 <"$T/req")" "200 application/json"
stop "$PID"

t_done
