/* tests/common/zone_text.c: see zone_text.h. */
#include "zone_text.h"

mailsec_err
put_txt(struct ms_buf *b, const char *p, size_t n)
{
	mailsec_err err;
	size_t i, inchunk = 0;

	err = ms_buf_appendz(b, " \"");
	for (i = 0; i < n && err == MAILSEC_OK; i++) {
		unsigned char c = (unsigned char)p[i];

		if (inchunk == 255) {
			if ((err = ms_buf_appendz(b, "\" \"")) != MAILSEC_OK)
				break;
			inchunk = 0;
		}
		inchunk++;
		if (c == '"' || c == '\\')
			err = ms_buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			err = ms_buf_printf(b, "\\%03u", c);
		else
			err = ms_buf_appendc(b, (char)c);
	}
	if (err == MAILSEC_OK)
		err = ms_buf_appendc(b, '"');
	return err;
}
