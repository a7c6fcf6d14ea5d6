/*
 * tests/txn_ledger.h - a workload of transactions whose every part can be found again in a
 * reopened file, for the crash and fault harnesses of transactions (tests/test_txn_crash.c,
 * tests/test_txn_faults.c).
 *
 * On the library schema (tests/helpers.h):
 *
 *   Author 1        "counter": age = n, the last transaction committed; rating = n / 2
 *   Authors 2 .. 9  "account 1" .. "account 8": age = a balance; they sum to 8 x 1000
 *   per transaction n, its receipt: an Author "txn n" (email "n@txn", unique), age = K,
 *                   and K books "txn n book i" with pages = n, editor = receipt n - 1 (when
 *                   it exists), some with an isbn "n-i" (unique), some with a review whose
 *                   body begins "txn n" (a few long enough for overflow pages)
 *
 * Transaction n (ledger_changes()) makes, in this order: sometimes a savepoint that creates
 * receipt n too, moves amounts, sets the counter and deletes a receipt, then rolls back (so
 * the receipt's unique values must be free again); receipt n with its books and reviews;
 * a few moves between accounts (two updates each); the delete of receipt n - LEDGER_KEEP (a
 * cascade through its books and their reviews, and a SET_NULL of the editor of receipt
 * n - LEDGER_KEEP + 1's books); in a savepoint that commits, the counter's rating; last, the
 * counter's age. A store holds transactions 1 .. c whole and nothing of any other exactly
 * when ledger_check() passes with *COUNT = c.
 */
#ifndef RS_TESTS_TXN_LEDGER_H
#define RS_TESTS_TXN_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <store.h>

enum {
    LEDGER_ACCOUNTS = 8,
    LEDGER_BALANCE = 1000, /* each account's first balance */
    LEDGER_KEEP = 6,       /* receipts of the last LEDGER_KEEP transactions live */
};

/* ledger_rand() - the next number of the generator at *X (splitmix64). */
uint64_t ledger_rand(uint64_t *x);

/* ledger_init() - the counter and the accounts in the empty store S (inside a transaction
 * of the caller's, or not). STORE_OK or the first failing call's code. */
int ledger_init(store *s);

/*
 * ledger_changes() - the changes of transaction N, made inside a write transaction the
 * caller has open on S (so that it may commit or roll them back); SIZE / 2 to SIZE books
 * (SIZE >= 1), the draws from *X. Transaction N - 1 must be the last one committed. Returns
 * STORE_OK or the first failing call's code (store_errmsg(s) says more); the caller rolls back
 * then.
 */
int ledger_changes(store *s, uint64_t n, uint64_t *x, int size);

/*
 * ledger_check() - whether S holds ledger transactions 1 .. *COUNT whole and nothing of any
 * other (see above). On failure the reason is in WHY (LEN bytes) and *COUNT is the counter's
 * age, or 0 if there is no counter.
 */
bool ledger_check(store *s, uint64_t *count, char *why, size_t len);

/* ledger_hash() - the XXH3 of S's canonical dump (0 if memory runs out). */
uint64_t ledger_hash(store *s);

#endif
