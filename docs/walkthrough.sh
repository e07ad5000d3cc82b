#!/usr/bin/env bash
# README's curl walkthrough, runnable: `bash docs/walkthrough.sh` against a fresh Tessera started as README
# says (test/system/walkthrough.test.ts runs it top to bottom; README shows the part between the markers verbatim).
# Needs curl and node. B: Tessera's URL; SECRET: the service client's secret (see the first step).
set -euo pipefail
cd "$(mktemp -d)"
# --- walkthrough ---
B=${B:-http://localhost:3000}
json() { node -pe "const v = JSON.parse(require('fs').readFileSync(0)); $1"; }   # prints a field of the JSON on stdin
# A service client for introspection and revocation: `npm run clients -- new orders` prints a secret and the
# entry to give Tessera; start (or restart) it with that entry, e.g. SERVICE_CLIENTS="orders:sha256:…" npm start
SECRET=${SECRET:?export SECRET=… as npm run clients -- new orders printed it}

# register
curl -s $B/auth/register -H 'content-type: application/json' -d '{"email":"ada@example.com","password":"correct horse battery"}'; echo
# log in: the access token comes in the body, the refresh token in a cookie (saved to jar.txt)
AT=$(curl -s $B/auth/login -c jar.txt -H 'content-type: application/json' \
  -d '{"email":"ada@example.com","password":"correct horse battery"}' | json v.access_token)
# who am I
curl -s $B/auth/me -H "authorization: Bearer $AT"; echo
# refresh: sends the cookie, stores the new one (the old one is now spent)
curl -s -X POST $B/auth/refresh -b jar.txt -c jar.txt; echo
# a second device: another session of the same user
AT2=$(curl -s $B/auth/login -c jar2.txt -H 'content-type: application/json' \
  -d '{"email":"ada@example.com","password":"correct horse battery"}' | json v.access_token)
# my sessions; end the other one (the one that isn't "current")
curl -s $B/auth/sessions -H "authorization: Bearer $AT"; echo
OTHER=$(curl -s $B/auth/sessions -H "authorization: Bearer $AT" | json 'v.sessions.find((s) => !s.current).id')
curl -s -o /dev/null -w '%{http_code}\n' -X DELETE $B/auth/sessions/$OTHER -H "authorization: Bearer $AT"   # 204
curl -s $B/auth/me -H "authorization: Bearer $AT2"; echo   # 401 invalid_token: that session has ended
# as a service client: is this token active? (then revoke it: its whole session ends)
curl -s $B/oauth/introspect -u "orders:$SECRET" -d "token=$AT"; echo
# change the password (ends every other session; this one stays)
curl -s -o /dev/null -w '%{http_code}\n' $B/auth/password -H "authorization: Bearer $AT" -H 'content-type: application/json' \
  -d '{"current_password":"correct horse battery","new_password":"another good passphrase"}'   # 204
# reuse detection, on a session of its own: replaying a spent refresh token ends the whole session
curl -s $B/auth/login -c jar3.txt -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"ada@example.com","password":"another good passphrase"}'
cp jar3.txt spent.txt
curl -s -o /dev/null -X POST $B/auth/refresh -b jar3.txt -c jar3.txt
sleep 11   # past the grace window (REFRESH_REUSE_GRACE_SECONDS, 10) in which a second tab may replay it
curl -s -X POST $B/auth/refresh -b spent.txt; echo    # 401 refresh_token_reused
curl -s -X POST $B/auth/refresh -b jar3.txt; echo     # 401 session_revoked: the newest token died too
# log out this session (the refresh cookie) / every session (an access token)
curl -s -o /dev/null -w '%{http_code}\n' -X POST $B/auth/logout -b jar.txt -c jar.txt   # 204
AT=$(curl -s $B/auth/login -H 'content-type: application/json' \
  -d '{"email":"ada@example.com","password":"another good passphrase"}' | json v.access_token)
curl -s -o /dev/null -w '%{http_code}\n' -X POST $B/auth/logout-all -H "authorization: Bearer $AT"   # 204
curl -s $B/oauth/introspect -u "orders:$SECRET" -d "token=$AT"; echo   # {"active":false}
curl -s $B/oauth/revoke -u "orders:$SECRET" -d "token=$AT"; echo       # {} (revoking is idempotent)
# keys and metadata
curl -s $B/.well-known/jwks.json; echo
curl -s $B/.well-known/openid-configuration; echo
curl -s $B/health/ready; echo
# --- end ---
