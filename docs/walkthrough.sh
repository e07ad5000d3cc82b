#!/usr/bin/env bash
# README's curl walkthrough, runnable: `bash docs/walkthrough.sh` against the Quick start's server (`npm start`,
# http://localhost:3000), as often as you like: each run registers an address of its own. Needs curl and node.
# B: Tessera's URL. SECRET (optional): a service client's secret, for the introspection and revocation steps;
# without it they are skipped. test/system/walkthrough.test.ts runs it, twice, with and without SECRET; README
# shows the part between the markers verbatim.
# From an empty database: stop Tessera, `rm -rf data` (the embedded database, DATABASE_URL=pglite:./data), start
# it again; or start it on a throwaway one with `DATABASE_URL=pglite:memory npm start`.
set -euo pipefail
cd "$(mktemp -d)"
# --- walkthrough ---
B=${B:-http://localhost:3000}
# prints a field of the JSON on stdin; stops the walkthrough with the answer when the field isn't there
json() { node -e "let v, r; const s = require('fs').readFileSync(0, 'utf8'); try { v = JSON.parse(s); r = $1; } catch {}
  if (r == null) { console.error('unexpected answer: ' + s); process.exit(1); } console.log(r)"; }
EMAIL="ada-$(date +%s)-$RANDOM@example.com"   # a new user each run
# Introspection and revocation need a service client: `npm run clients -- new orders` prints a secret and the
# entry to give Tessera; start it with SERVICE_CLIENTS="orders:sha256:…" npm start, then export SECRET=…
SECRET=${SECRET:-}

# register
curl -s $B/auth/register -H 'content-type: application/json' -d '{"email":"'$EMAIL'","password":"correct horse battery"}'; echo
# log in: the access token comes in the body, the refresh token in a cookie (saved to jar.txt)
AT=$(curl -s $B/auth/login -c jar.txt -H 'content-type: application/json' \
  -d '{"email":"'$EMAIL'","password":"correct horse battery"}' | json v.access_token)
# who am I
curl -s $B/auth/me -H "authorization: Bearer $AT"; echo
# refresh: sends the cookie, stores the new one (the old one is now spent)
curl -s -X POST $B/auth/refresh -b jar.txt -c jar.txt; echo
# a second device: another session of the same user
AT2=$(curl -s $B/auth/login -c jar2.txt -H 'content-type: application/json' \
  -d '{"email":"'$EMAIL'","password":"correct horse battery"}' | json v.access_token)
# my sessions; end the other one (the one that isn't "current")
curl -s $B/auth/sessions -H "authorization: Bearer $AT"; echo
OTHER=$(curl -s $B/auth/sessions -H "authorization: Bearer $AT" | json 'v.sessions.find((s) => !s.current).id')
curl -s -o /dev/null -w '%{http_code}\n' -X DELETE $B/auth/sessions/$OTHER -H "authorization: Bearer $AT"   # 204
curl -s $B/auth/me -H "authorization: Bearer $AT2"; echo   # 401 invalid_token: that session has ended
# as a service client: is this token active? (then revoke it: its whole session ends)
[ -z "$SECRET" ] || { curl -s $B/oauth/introspect -u "orders:$SECRET" -d "token=$AT"; echo; }
# change the password (ends every other session; this one stays)
curl -s -o /dev/null -w '%{http_code}\n' $B/auth/password -H "authorization: Bearer $AT" -H 'content-type: application/json' \
  -d '{"current_password":"correct horse battery","new_password":"another good passphrase"}'   # 204
# reuse detection, on a session of its own: replaying a spent refresh token ends the whole session
curl -s $B/auth/login -c jar3.txt -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"'$EMAIL'","password":"another good passphrase"}'
cp jar3.txt spent.txt
curl -s -o /dev/null -X POST $B/auth/refresh -b jar3.txt -c jar3.txt
sleep 11   # past the grace window (REFRESH_REUSE_GRACE_SECONDS, 10) in which a second tab may replay it
curl -s -X POST $B/auth/refresh -b spent.txt; echo    # 401 refresh_token_reused
curl -s -X POST $B/auth/refresh -b jar3.txt; echo     # 401 session_revoked: the newest token died too
# log out this session (the refresh cookie) / every session (an access token)
curl -s -o /dev/null -w '%{http_code}\n' -X POST $B/auth/logout -b jar.txt -c jar.txt   # 204
AT=$(curl -s $B/auth/login -H 'content-type: application/json' \
  -d '{"email":"'$EMAIL'","password":"another good passphrase"}' | json v.access_token)
curl -s -o /dev/null -w '%{http_code}\n' -X POST $B/auth/logout-all -H "authorization: Bearer $AT"   # 204
[ -z "$SECRET" ] || { curl -s $B/oauth/introspect -u "orders:$SECRET" -d "token=$AT"; echo; }   # {"active":false}
[ -z "$SECRET" ] || { curl -s $B/oauth/revoke -u "orders:$SECRET" -d "token=$AT"; echo; }       # {} (idempotent)
# keys and metadata
curl -s $B/.well-known/jwks.json; echo
curl -s $B/.well-known/openid-configuration; echo
curl -s $B/health/ready; echo
# --- end ---
