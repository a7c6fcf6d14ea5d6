/*
 * tests/fuzz/fuzz_catalog.c - R8: the catalog decoder on any bytes.
 *
 * The magic, the format version and the checksum are made right before decoding (the input
 * is the rest), except when the input's first byte is odd, so that the fields behind them
 * are what gets fuzzed. A decoded catalog is looked through model by model and freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "persist/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    if (size >= 80 && !(data[0] & 1)) {
        uint32_t version = RS_FORMAT_VERSION;
        memcpy(b, "RELSTORE", 8);
        memcpy(b + 8, &version, 4);
        uint64_t h = XXH3_64bits(b + 20, size - 20);
        memcpy(b + 12, &h, 8);
    }
    (void)rs_catalog_generation(b, size);
    rs_catalog cat;
    if (rs_catalog_decode(&cat, b, size) == 0) {
        for (uint32_t i = 0; i < cat.nmodels; i++)
            if (rs_catalog_model(&cat, cat.models[i].name) == NULL)
                abort(); /* a decoded model must be found by its own name */
        rs_catalog_free(&cat);
    }
    free(b);
    return 0;
}
