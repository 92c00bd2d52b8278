/* libFuzzer target: the YAML configuration loader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "mail/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/sluice-fuzz-cfg-XXXXXX";
	int fd = mkstemp(path);
	struct config c;
	struct err e;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		config_load(path, &c, &e);
		config_free(&c);
	}
	close(fd);
	unlink(path);
	return 0;
}
