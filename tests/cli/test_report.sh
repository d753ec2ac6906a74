#!/bin/sh
# Checks `mailsec report import|summary|send` against the real aggregate
# reports of the shared test suites (reports/aggregate: XML with and
# without namespaces, gzip, zip, report e-mails, broken ones): exit
# status (import: 0 when every input was stored, also with records left
# out as warnings, 1 when one could not be parsed, naming it, the others
# still stored; 2 for usage errors), duplicates, and `summary --json`
# figures against numbers computed here with python3 straight from the
# files (not from mailsec).
# usage: test_report.sh MAILSEC_BINARY SOURCE_DIR
# Exit 77 (skipped) when the test suites are absent.
set -u
bin=$1
src=$2
suites=${MAILSEC_TESTSUITES:-$src/../shared/testsuites}
agg=$suites/reports/aggregate
. "$src/tests/lib.sh"

if [ ! -d "$agg" ]; then
	echo "SKIPPED: no test suites at $agg (set MAILSEC_TESTSUITES)"
	exit 77
fi
state=$tmp/state

# ---- usage ----------------------------------------------------------------
expect 2 "no operation" -- "$bin" report --state-dir "$state"
expect 2 "unknown operation" -- "$bin" report --state-dir "$state" bogus
expect 2 "import without input" -- "$bin" report --state-dir "$state" \
    import
expect 2 "bad --since" -- "$bin" report --state-dir "$state" summary \
    --since 2024-13-01
expect 2 "--json and --csv" -- "$bin" report --state-dir "$state" \
    summary --json --csv
expect 2 "--now is for send" -- "$bin" report --state-dir "$state" \
    summary --now
expect 0 "--help" -- "$bin" report import --help
has out "summary" "help text"

# ---- expectations from the files ----------------------------------------
# Every file under $agg in the order import walks it (names sorted, dot
# files skipped); each report read the lenient way the files need (bad
# bytes replaced, the stray <xs:schema> wrapper of one reporter dropped,
# a '<' that starts no tag taken as text and the unclosed root closed, as
# OpenDMARC's bad.com needs) and deduplicated on (org_name, report_id,
# domain) as the store does; a record whose source_ip is not an address
# or whose count is not a number is left out ("skipped": file, record
# number, the reason as mailsec words it; "partial": file, records and
# messages stored of its report).
/usr/bin/python3 - "$agg" "$tmp/expect.json" <<'EOF'
import email, io, ipaddress, json, os, re, sys, zipfile, zlib
import xml.etree.ElementTree as ET

def walk(d):
    for n in sorted(os.listdir(d)):
        if n.startswith('.'):
            continue
        p = os.path.join(d, n)
        if os.path.isdir(p):
            yield from walk(p)
        else:
            yield p

def docs(data):
    if data[:2] == b'\x1f\x8b':
        # one member; bytes after it (a reporter's stray CRLF) ignored
        yield from docs(zlib.decompressobj(16 + zlib.MAX_WBITS)
                        .decompress(data))
    elif data[:4] == b'PK\x03\x04':
        z = zipfile.ZipFile(io.BytesIO(data))
        for n in z.namelist():
            yield from docs(z.read(n))
    elif b'<feedback' in data[:4096] or data.lstrip()[:5] == b'<?xml':
        yield data
    else:
        m = email.message_from_bytes(data)
        for part in m.walk():
            if part.is_multipart():
                continue
            body = part.get_payload(decode=True)
            if body and (body[:2] == b'\x1f\x8b' or body[:4] == b'PK\x03\x04'
                         or b'<feedback' in body[:4096]):
                yield from docs(body)

def local(tag):
    return tag.rsplit('}', 1)[-1]

def find(e, *path):
    for name in path:
        if e is None:
            return None
        e = next((c for c in e if local(c.tag) == name), None)
    return e

def text(e, *path):
    e = find(e, *path)
    return (e.text or '').strip() if e is not None else ''

def parse(raw):
    s = raw.decode('utf-8', errors='replace')
    s = re.sub(r'^<\?xml[^>]*\?>', '', s.lstrip())
    s = re.sub(r'<xs:schema[^>]*>', '', s, count=1)
    try:
        return ET.fromstring(s)
    except ET.ParseError:
        # "example.com<foo</header_from>": a '<' opening no tag is text;
        # a root element never closed is closed at the end
        s = re.sub(r'<(?![/?!]|[A-Za-z_][^<>]*>)', '&lt;', s)
        root = re.search(r'<([A-Za-z_][^\s/>]*)', s).group(1)
        if '</%s>' % root not in s:
            s += '</%s>' % root
        return ET.fromstring(s)

def unreadable(ip, count):
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return "source_ip '%s' is not an IP address" % ip
    if not count.isdigit() or int(count) > 10**12:
        return "count '%s' is not a number up to 10^12" % count
    return None

seen, reports, failed, skipped, partial = set(), [], [], [], []
for path in walk(sys.argv[1]):
    ok = True
    for raw in docs(open(path, 'rb').read()):
        try:
            root = parse(raw)
        except ET.ParseError:
            ok = False
            continue
        key = (text(root, 'report_metadata', 'org_name'),
               text(root, 'report_metadata', 'report_id'),
               text(root, 'policy_published', 'domain').lower())
        if key in seen:
            continue
        seen.add(key)
        recs = []
        for n, r in enumerate((c for c in root if local(c.tag) == 'record'),
                              1):
            pe = find(r, 'row', 'policy_evaluated')
            ip, count = text(r, 'row', 'source_ip'), text(r, 'row', 'count')
            why = unreadable(ip, count)
            if why:
                skipped.append([path, n, why])
                continue
            recs.append({'ip': ip, 'count': int(count),
                         'dkim': text(pe, 'dkim').lower() == 'pass',
                         'spf': text(pe, 'spf').lower() == 'pass'})
        reports.append({'domain': key[2], 'records': recs})
        if skipped and skipped[-1][0] == path:
            partial.append([path, len(recs), sum(r['count'] for r in recs)])
    if not ok:
        failed.append(path)

def totals(reps):
    src = {}
    for rep in reps:
        for r in rep['records']:
            s = src.setdefault(r['ip'], [0, 0, 0, 0])
            s[0] += r['count']
            s[1] += r['count'] if r['spf'] else 0
            s[2] += r['count'] if r['dkim'] else 0
            s[3] += r['count'] if r['spf'] or r['dkim'] else 0
    return {'reports': len(reps),
            'messages': sum(s[0] for s in src.values()),
            'sources': src}

out = {'all': totals(reports), 'failed': failed, 'skipped': skipped,
       'partial': partial,
       'example.de': totals([r for r in reports
                             if r['domain'] == 'example.de'])}
json.dump(out, open(sys.argv[2], 'w'))
EOF
if [ ! -s "$tmp/expect.json" ]; then
	bad "expectations not computed"
	echo "report: $checks checks, $fails failed"
	exit 1
fi
nfailed=$(/usr/bin/python3 -c 'import json,sys
print(len(json.load(open(sys.argv[1]))["failed"]))' "$tmp/expect.json")

# ---- import ---------------------------------------------------------------
import_rc=0
[ "$nfailed" -gt 0 ] && import_rc=1
expect "$import_rc" "import of every sample" -- "$bin" report \
    --state-dir "$state" import "$agg"
cp "$tmp/out" "$tmp/import.out"
cp "$tmp/err" "$tmp/import.err"
/usr/bin/python3 -c 'import json,sys
for p in json.load(open(sys.argv[1]))["failed"]:
    print(p)' "$tmp/expect.json" >"$tmp/failed.list"
while IFS= read -r f; do
	# the input that could not be parsed is named, with the reason
	check "failure of $f named" "grep -Fq -- \"\$f: \" \"\$tmp/import.err\""
	echo "NOTE: not well-formed, refused as expected: $f"
done <"$tmp/failed.list"
# a record left out is a warning naming the input, the record and why
# (OpenDMARC's bad.com: record 2, source_ip 108r.166.27.220); the rest of
# that report is stored, the input counts as stored
/usr/bin/python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for p, n, why in d["skipped"]:
    print("%s: warning: record %d (line " % (p, n))
    print("): %s" % why)
for p, n, m in d["partial"]:
    print("%s: report " % p)
    print(": stored, %d records, %d messages" % (n, m))' \
    "$tmp/expect.json" >"$tmp/skipped.list"
nskipped=$(/usr/bin/python3 -c 'import json,sys
print(len(json.load(open(sys.argv[1]))["skipped"]))' "$tmp/expect.json")
while IFS= read -r w1 && IFS= read -r w2; do
	check "named: $w1...$w2" "grep -hF -- \"\$w1\" \"\$tmp/import.err\" \
	    \"\$tmp/import.out\" | grep -Fq -- \"\$w2\""
done <"$tmp/skipped.list"
check "bad.com: one record left out, line 5" "[ $nskipped -eq 1 ] &&
    grep -q \"bad\\.com.*: warning: record 2 (line 5): source_ip \
'108r\\.166\\.27\\.220' is not\" \"\$tmp/import.err\""
check "one warning per record left out" \
    "[ \$(grep -c ': warning: ' \"\$tmp/import.err\") -eq $nskipped ]"
check "db mode 0600" \
    "[ \"\$(stat -c %a \"\$state/reports.db\")\" = 600 ]"
has import.out "already imported" "the gzip and zip twins are duplicates"

# summary --json against the files
expect 0 "summary --json" -- "$bin" report --state-dir "$state" summary \
    --json
cp "$tmp/out" "$tmp/summary.json"
cmp_summary() {
	checks=$((checks + 1))
	if ! /usr/bin/python3 - "$tmp/out" "$tmp/expect.json" "$1" \
	    >"$tmp/pyerr" 2>&1 <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))[sys.argv[3]]
assert got['reports'] == want['reports'], (got['reports'], want['reports'])
assert got['messages'] == want['messages'], (got['messages'],
                                              want['messages'])
srcs = {s['ip']: [s['count'], s['spf_pass'], s['dkim_pass'],
                  s['dmarc_pass']] for s in got['sources']}
assert len(srcs) == len(got['sources']), 'an IP twice'
assert srcs == want['sources'], [
    (ip, srcs.get(ip), want['sources'].get(ip))
    for ip in set(srcs) | set(want['sources'])
    if srcs.get(ip) != want['sources'].get(ip)][:5]
counts = [s['count'] for s in got['sources']]
assert counts == sorted(counts, reverse=True), 'not sorted by count'
EOF
	then
		echo "FAIL: summary of $1 differs from the files"
		sed 's/^/  /' "$tmp/pyerr" | tail -5
		fails=$((fails + 1))
	fi
}
cmp_summary all
expect 0 "summary --domain example.de" -- "$bin" report \
    --state-dir "$state" summary --domain example.de --json
cmp_summary example.de
expect 0 "summary --since far future" -- "$bin" report \
    --state-dir "$state" summary --since 2099-01-01 --json
json_ok "nothing since 2099" 'd["reports"] == 0 and d["messages"] == 0'
expect 0 "summary text" -- "$bin" report --state-dir "$state" summary
has out "^total " "text summary has a total line"
expect 0 "summary csv" -- "$bin" report --state-dir "$state" summary --csv
has out "^ip,count,spf_pass,dkim_pass,dmarc_pass" "csv header"

# importing everything again stores nothing new
expect "$import_rc" "import again" -- "$bin" report --state-dir "$state" \
    import "$agg"
has out "^0 stored" "second import stores nothing"
expect 0 "summary unchanged" -- "$bin" report --state-dir "$state" \
    summary --json
check "same summary" "cmp -s \"\$tmp/out\" \"\$tmp/summary.json\""

# one broken input among good ones: exit 1, named, the others stored
mkdir "$tmp/mixed"
cp "$agg/parsedmarc/example.net!example.com!1529366400!1529452799.xml" \
    "$tmp/mixed/a-good.xml"
printf '<?xml version="1.0"?>\n<feedback>\n<report_metadata>\n' \
    >"$tmp/mixed/b-truncated.xml"
printf 'not a report at all\n' >"$tmp/mixed/c-text.txt"
gzip -c "$agg/parsedmarc/addisonfoods.com!example.com!1536105600!1536191999.xml" \
    >"$tmp/mixed/d-good.xml.gz"
# a report none of whose records can be read is not stored
{
	printf '<feedback><report_metadata><org_name>o</org_name>'
	printf '<report_id>1</report_id></report_metadata><policy_published>'
	printf '<domain>example.org</domain></policy_published>\n<record>'
	printf '<row><source_ip>192.0.2.256</source_ip><count>1</count>'
	printf '</row></record></feedback>\n'
} >"$tmp/mixed/e-no-record.xml"
expect 1 "mixed directory" -- "$bin" report --state-dir "$tmp/s2" import \
    "$tmp/mixed"
has err "b-truncated.xml: " "truncated file named"
has err "c-text.txt: " "text file named"
has err "e-no-record.xml: line 2: none of its 1 records can be read: \
record 1 \\(line 2\\): source_ip '192.0.2.256' is not an IP address" \
    "report without a readable record named"
has out "2 stored" "the good ones stored"
expect 0 "standard input" -- sh -c "\"\$0\" report --state-dir \
    \"\$1\" import - <\"\$2\"" "$bin" "$tmp/s3" \
    "$agg/parsedmarc/ikea.com!example.de!1538690400!1538776800.xml"
has out "stored, 1 records" "stdin report stored"

# send with nothing evaluated: nothing to do
expect 0 "send --dry-run, empty" -- "$bin" report --state-dir "$tmp/s3" \
    send --dry-run --dns-zone /dev/null
has out "^0 periods" "no periods"

echo "report: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
