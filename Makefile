# mangopay_fdw — PGXS build
MODULE_big = mangopay_fdw
EXTENSION  = mangopay_fdw
DATA       = $(wildcard mangopay_fdw--*.sql)
PGFILEDESC = "mangopay_fdw - foreign data wrapper for the MangoPay API"

SRCS = mangopay_fdw.c src/options.c src/resources.c src/http.c src/http_retry.c src/url.c src/auth.c \
       src/scan.c src/listing.c src/list_check.c src/byid.c src/list_request.c src/convert.c \
       src/plan.c src/apiparse.c src/errors.c src/report.c src/report_request.c \
       src/report_lifecycle.c src/report_download.c src/report_rows.c src/report_byid.c src/csv.c src/csv_parser.c \
       src/windows.c src/jsonrow.c src/json_own.c src/rowbuild.c src/sqlfuncs.c src/ratebudget.c \
       src/pushdesc.c src/sources.c
OBJS = $(SRCS:.c=.o)

# The regression suites; each needs the mock API (test/run.sh starts it).
REGRESS      = setup options import lists pushdown joins objects faults matrix wrong tls reports security \
               wide csvshapes apirules sync matviews cron upgrade budget async

PG_CONFIG ?= pg_config
SHLIB_LINK += -lcurl -lcjson -lcrypto
PG_CPPFLAGS += -I$(srcdir)/src -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
               -Wno-missing-field-initializers -Wno-sign-compare

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
