build-tsan/src/cli/send.o: src/cli/send.c src/cli/cli.h src/cli/env.h \
 src/mail/config.h src/util/err.h src/queue/scheduler.h src/cli/report.h \
 src/queue/store.h src/list/csv.h src/util/strbuf.h src/list/hygiene.h \
 src/list/recipients.h src/mail/address.h src/list/suppress.h \
 src/mail/fields.h src/msg/dkim.h src/msg/template.h src/msg/verp.h \
 src/queue/dlog.h src/util/clock.h src/util/strmap.h src/util/xmalloc.h
src/cli/cli.h:
src/cli/env.h:
src/mail/config.h:
src/util/err.h:
src/queue/scheduler.h:
src/cli/report.h:
src/queue/store.h:
src/list/csv.h:
src/util/strbuf.h:
src/list/hygiene.h:
src/list/recipients.h:
src/mail/address.h:
src/list/suppress.h:
src/mail/fields.h:
src/msg/dkim.h:
src/msg/template.h:
src/msg/verp.h:
src/queue/dlog.h:
src/util/clock.h:
src/util/strmap.h:
src/util/xmalloc.h:
