build-tsan/src/cli/check.o: src/cli/check.c src/cli/cli.h \
 src/dns/lookup.h src/util/err.h src/dns/spf.h src/mail/config.h \
 src/msg/dkim.h src/util/strbuf.h src/msg/lint.h src/msg/template.h \
 src/queue/store.h src/util/clock.h
src/cli/cli.h:
src/dns/lookup.h:
src/util/err.h:
src/dns/spf.h:
src/mail/config.h:
src/msg/dkim.h:
src/util/strbuf.h:
src/msg/lint.h:
src/msg/template.h:
src/queue/store.h:
src/util/clock.h:
