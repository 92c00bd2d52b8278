build-tsan/src/mail/config.o: src/mail/config.c src/mail/config.h \
 src/util/err.h src/mail/address.h src/mail/config_yaml.h \
 src/mail/yaml_doc.h src/mail/providers.h src/mail/reply.h \
 src/util/strbuf.h src/util/utf8.h src/util/xmalloc.h
src/mail/config.h:
src/util/err.h:
src/mail/address.h:
src/mail/config_yaml.h:
src/mail/yaml_doc.h:
src/mail/providers.h:
src/mail/reply.h:
src/util/strbuf.h:
src/util/utf8.h:
src/util/xmalloc.h:
