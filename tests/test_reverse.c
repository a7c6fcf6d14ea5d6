/*
 * tests/test_reverse.c - reverse relations: the seed's walk, order, counts, handles.
 */
#include <string.h>

#include "tests/helpers.h"

TestSuite(reverse, .init = library_setup, .fini = library_teardown);

Test(reverse, lists_only_that_authors_books_in_creation_order)
{
    store_obj *john = make_author("John Doe"), *jane = make_author("Jane Roe");
    make_book("Book 1", john);
    make_book("Other 1", jane);
    make_book("Book 2", john);
    make_book("Book 3", john);
    store_iter it = store_reverse(john, "books");
    cr_assert_eq(store_count(&it), 3);
    const char *want[] = {"Book 1", "Book 2", "Book 3"};
    int n = 0;
    for (store_obj *b; (b = store_next(&it)); n++) {
        cr_assert_lt(n, 3);
        cr_assert_str_eq(store_str(b, "title"), want[n]);
        cr_assert_eq(store_ref(b, "author"), john);
    }
    cr_assert_eq(n, 3);
    cr_assert_eq(store_count(&it), 3, "the count does not depend on how far the walk went");
    cr_assert_null(store_next(&it), "an ended walk stays ended");
    check_invariants(db);
}

Test(reverse, of_an_object_with_no_children_is_empty)
{
    store_obj *a = make_author("A");
    store_iter it = store_reverse(a, "books");
    cr_assert_eq(store_count(&it), 0);
    cr_assert_null(store_next(&it));
    check_invariants(db);
}

Test(reverse, an_unknown_related_name_gives_an_empty_walk_and_says_so)
{
    store_obj *a = make_author("A");
    make_book("T", a);
    store_iter it = store_reverse(a, "bookz");
    cr_assert_eq(store_count(&it), 0);
    cr_assert_null(store_next(&it));
    cr_assert(strstr(store_errmsg(db), "bookz"));
    it = store_reverse(NULL, "books");
    cr_assert_null(store_next(&it));
    it = store_reverse(a, NULL);
    cr_assert_null(store_next(&it));
    cr_assert_null(store_next(NULL));
    cr_assert_eq(store_count(NULL), 0);
    check_invariants(db);
}

Test(reverse, a_relation_handle_walks_the_same_children)
{
    store_obj *a = make_author("A");
    for (int i = 0; i < 5; i++)
        make_book("T", a);
    const store_fld *books = store_relation_find(Author, "books");
    cr_assert_not_null(books);
    cr_assert_eq(books, store_field_find(Book, "author"), "the handle is the child's FK field");
    store_iter it = store_reverse_fld(a, books);
    cr_assert_eq(store_count(&it), 5);
    cr_assert_str_eq(child_ids(a, "books"), "1,2,3,4,5");
    cr_assert_null(store_relation_find(Author, "nope"));
    /* A handle of a relation onto another model gives an empty walk. */
    store_iter wrong = store_reverse_fld(a, store_relation_find(Book, "reviews"));
    cr_assert_null(store_next(&wrong));
    check_invariants(db);
}

Test(reverse, deleting_the_object_just_returned_is_allowed)
{
    store_obj *a = make_author("A");
    for (int i = 0; i < 6; i++)
        make_book("T", a);
    store_iter it = store_reverse(a, "books");
    int seen = 0;
    for (store_obj *b; (b = store_next(&it)); seen++)
        if (store_id(b) % 2 == 0)
            cr_assert_eq(store_delete(db, b), STORE_OK);
    cr_assert_eq(seen, 6);
    cr_assert_str_eq(child_ids(a, "books"), "1,3,5");
    check_invariants(db);
}

Test(reverse, two_relations_onto_one_model_are_separate)
{
    store_obj *a = make_author("A"), *e = make_author("E");
    store_obj *b;
    cr_assert_eq(store_create(db, Book,
                              (store_value[]){STORE_V_STR("title", "T"), STORE_V_REF("author", a),
                                              STORE_V_REF("editor", e), {0}},
                              &b),
                 STORE_OK);
    cr_assert_str_eq(child_ids(a, "books"), "1");
    cr_assert_str_eq(child_ids(a, "edited"), "");
    cr_assert_str_eq(child_ids(e, "edited"), "1");
    cr_assert_str_eq(child_ids(e, "books"), "");
    check_invariants(db);
}

Test(reverse, a_self_relation_works)
{
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    store_field f[] = {{.name = "name", .type = STORE_TEXT},
                       {.name = "parent", .type = STORE_FK, .to = "Node", .null = true,
                        .related_name = "children", .on_delete = STORE_CASCADE},
                       {0}};
    cr_assert_eq(store_schema_add(s, "Node", f), STORE_OK);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    store_model *Node = store_model_find(d, "Node");
    store_obj *root, *kid;
    cr_assert_eq(store_create(d, Node, (store_value[]){STORE_V_STR("name", "root"), {0}}, &root),
                 STORE_OK);
    cr_assert_eq(store_create(d, Node,
                              (store_value[]){STORE_V_STR("name", "kid"),
                                              STORE_V_REF("parent", root), {0}},
                              &kid),
                 STORE_OK);
    store_iter it = store_reverse(root, "children");
    cr_assert_eq(store_next(&it), kid);
    /* A node that is its own parent is a cycle of one: deleting it ends. */
    cr_assert_eq(store_update(d, root, (store_value[]){STORE_V_REF("parent", root), {0}}),
                 STORE_OK);
    check_invariants(d);
    cr_assert_eq(store_delete(d, root), STORE_OK);
    cr_assert_eq(store_model_count(Node), 0);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
}
