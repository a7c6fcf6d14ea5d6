/*
 * tests/fuzz/fuzz_record.c - R8: the record decoder on any bytes.
 *
 * The first 8 bytes of the input are the id the record is read as; the rest is the record.
 * Its checksum is made right before decoding (else nearly every input would stop there),
 * and, once in three inputs (by the id's low bits), left as the input has it. The decoder
 * must say 1, 0 or -1 for every field and never read outside the bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "persist/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t id;
    memcpy(&id, data, 8);
    size_t len = size - 8;
    uint8_t *rec = malloc(len ? len : 1); /* exactly LEN bytes: ASan sees any overread */
    if (!rec)
        return 0;
    memcpy(rec, data + 8, len);
    if (len >= 8 && id % 3) {
        uint64_t h = XXH3_64bits_withSeed(rec + 8, len - 8, id);
        memcpy(rec, &h, 8); /* little-endian, as the codec writes it */
    }
    rs_rec_reader r;
    if (rs_codec_open(&r, rec, len, id) == 0) {
        rs_rec_field f;
        int more, fields = 0;
        while ((more = rs_codec_next(&r, &f)) == 1 && fields++ < 1 << 16)
            if (f.tag == RS_TAG_STR && f.u.str.len && f.u.str.s[f.u.str.len - 1] == 0x7f)
                fields++; /* touch the string's last byte */
    }
    free(rec);
    return 0;
}
