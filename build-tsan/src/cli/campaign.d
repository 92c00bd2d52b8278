build-tsan/src/cli/campaign.o: src/cli/campaign.c src/cli/cli.h \
 src/cli/report.h src/queue/store.h src/util/err.h src/util/clock.h
src/cli/cli.h:
src/cli/report.h:
src/queue/store.h:
src/util/err.h:
src/util/clock.h:
