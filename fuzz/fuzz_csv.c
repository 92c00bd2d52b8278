/* libFuzzer target: the recipient list reader (CSV and addresses). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "list/recipients.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/sluice-fuzz-csv-XXXXXX";
	int fd = mkstemp(path);
	struct recipient_list l;
	struct recipient_row row = {0};
	struct err e;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	if (recipients_open(&l, path, &e) == 0) {
		int rc;
		while ((rc = recipients_next(&l, &row, &e)) != 0)
			;
	}
	recipient_row_free(&row);
	strbuf_free(&row.fields);
	recipients_close(&l);
	unlink(path);
	return 0;
}
