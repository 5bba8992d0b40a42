#!/usr/bin/env bash
# A demo company directory for `scripts/run.sh --directory` (issue 19): Debian's slapd
# on 127.0.0.1:3389 (plain LDAP on loopback; not the system slapd on 389) with its
# configuration and database in .demo/ldap/, the ppolicy overlay, Latchkey's service
# account and one person. Prints the [directory] settings as `export` lines for the
# caller to eval, and the slapd pid last. Idempotent: a second run starts the same
# directory again.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${LATCHKEY_DEMO_LDAP_PORT:-3389}"
dir="$PWD/.demo/ldap"
suffix="dc=corp,dc=example"
root_pw="demo-root-secret"
service_pw="demo-service-secret"
mkdir -p "$dir/db"
(umask 077; echo "$service_pw" > "$dir/service_password")

cat > "$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile $dir/slapd.pid
database mdb
suffix "$suffix"
rootdn "cn=admin,$suffix"
rootpw $root_pw
directory $dir/db
maxsize 16777216
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$suffix"
access to attrs=userPassword
  by self write
  by dn.exact="cn=latchkey,ou=services,$suffix" write
  by anonymous auth
  by * none
access to *
  by dn.exact="cn=latchkey,ou=services,$suffix" read
  by self read
  by * none
CONF

if [ -s "$dir/slapd.pid" ] && kill -0 "$(cat "$dir/slapd.pid")" 2>/dev/null; then
  kill "$(cat "$dir/slapd.pid")"; sleep 0.5
fi
/usr/sbin/slapd -h "ldap://127.0.0.1:$port/" -f "$dir/slapd.conf" -d 0 >"$dir/slapd.log" 2>&1 &
slapd_pid=$!
for _ in $(seq 50); do
  ldapwhoami -x -H "ldap://127.0.0.1:$port" -D "cn=admin,$suffix" -w "$root_pw" >/dev/null 2>&1 && break
  kill -0 $slapd_pid 2>/dev/null || { cat "$dir/slapd.log" >&2; echo "slapd did not start" >&2; exit 1; }
  sleep 0.2
done

if ! ldapsearch -x -H "ldap://127.0.0.1:$port" -D "cn=admin,$suffix" -w "$root_pw" \
    -b "$suffix" -s base >/dev/null 2>&1; then
  ldapadd -x -H "ldap://127.0.0.1:$port" -D "cn=admin,$suffix" -w "$root_pw" >/dev/null <<LDIF
dn: $suffix
objectClass: dcObject
objectClass: organization
o: Corp
dc: corp

dn: ou=people,$suffix
objectClass: organizationalUnit
ou: people

dn: ou=services,$suffix
objectClass: organizationalUnit
ou: services

dn: ou=policies,$suffix
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$suffix
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 10
pwdLockoutDuration: 900
pwdInHistory: 3
pwdCheckQuality: 2
pwdMinLength: 12

dn: cn=latchkey,ou=services,$suffix
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: latchkey
userPassword: $service_pw

dn: uid=liwei,ou=people,$suffix
objectClass: inetOrgPerson
uid: liwei
cn: Li Wei 李伟
sn: Li
mail: li.wei@corp.example
mobile: +8613700137000
o: Corp
userPassword: Harbor-lantern-violet-2026
LDIF
fi

echo "export LATCHKEY_DIRECTORY__KIND=openldap"
echo "export LATCHKEY_DIRECTORY__URL=ldap://127.0.0.1:$port"
echo "export LATCHKEY_DIRECTORY__STARTTLS=false"
echo "export LATCHKEY_DIRECTORY__BIND_DN=cn=latchkey,ou=services,$suffix"
echo "export LATCHKEY_DIRECTORY__BASE_DN=ou=people,$suffix"
echo "export LATCHKEY_DIRECTORY__BIND_PASSWORD_FILE=$dir/service_password"
echo "$slapd_pid"
