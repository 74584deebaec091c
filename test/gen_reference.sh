#!/usr/bin/env bash
# test/gen_reference.sh — the column reference of doc/reference.md, from
# the extension itself.
#
# Prints, as markdown, every table and column that IMPORT FOREIGN SCHEMA
# creates, read from mangopay_fdw_columns(): one "### table" heading per
# table with its endpoint, then its columns (type, API field, what of a
# WHERE clause on the column is sent to the API).
#
#   bash test/gen_reference.sh            print it
#   bash test/gen_reference.sh --update   rewrite doc/reference.md between
#                                         <!-- reference:start --> and
#                                         <!-- reference:end -->
#
# Needs a running cluster whose database has the extension created: by
# default the one test/lib.sh describes (PGHOST=$MP_TESTDIR/sock,
# PGPORT=$MP_PGPORT; database $MP_DB, default postgres), e.g. while
# test/demo.sh or test/run.sh runs, or after
#   . test/lib.sh; mp_start_env; mp_setup_db
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

update=false
case "${1:-}" in
	--update) update=true ;;
	"") ;;
	*) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

generate() {
	# tab-separated: table, endpoint, column, type, API field, pushdown
	mp_psql -d "${MP_DB:-postgres}" -At -F $'\t' -c "
		SELECT table_name, endpoint, column_name, column_type, api_field, coalesce(pushdown, '')
		FROM mangopay_fdw_columns() WITH ORDINALITY AS c(table_name, ordinal, column_name,
		     column_type, api_field, pushdown, endpoint, n)
		ORDER BY n" |
	awk -F '\t' '
		function cell(s) { gsub(/\|/, "\\|", s); return s }
		function code(s) { return s == "" ? "" : "`" cell(s) "`" }
		function field(s) {
			if (s ~ /^\(key\) /) return "(key) " code(substr(s, 7))
			if (s ~ /^\(/) return cell(s)
			return code(s)
		}
		$1 != table {
			if (table != "") print ""
			table = $1
			print "### " table
			print ""
			print "Endpoint: `" $2 "`"
			print ""
			print "| column | type | API field | sent to the API |"
			print "|---|---|---|---|"
		}
		{ print "| " code($3) " | " $4 " | " field($5) " | " ($6 ~ /^\(/ ? cell($6) : code($6)) " |" }
	'
}

ref=$(generate)
if [ -z "$ref" ]; then
	echo "$0: mangopay_fdw_columns() returned nothing" >&2
	exit 1
fi

if ! $update; then
	printf '%s\n' "$ref"
	exit 0
fi

readme=doc/reference.md
grep -q '^<!-- reference:start -->$' "$readme" && grep -q '^<!-- reference:end -->$' "$readme" || {
	echo "$0: $readme lacks the <!-- reference:start --> / <!-- reference:end --> markers" >&2
	exit 1
}
tmp=$(mktemp "$readme.XXXXXX")
trap 'rm -f "$tmp" "$tmp.ref"' EXIT
printf '%s\n' "$ref" > "$tmp.ref"
awk -v reffile="$tmp.ref" '
	/^<!-- reference:start -->$/ {
		print; print ""
		while ((getline line < reffile) > 0) print line
		print ""; skip = 1; next
	}
	/^<!-- reference:end -->$/ { skip = 0 }
	!skip { print }
' "$readme" > "$tmp"
rm -f "$tmp.ref"
cat "$tmp" > "$readme"
echo "$readme: reference of $(printf '%s\n' "$ref" | grep -c '^### ') tables updated" >&2
