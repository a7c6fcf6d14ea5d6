/*
 * python/relstore/_core.c - relstore for Python: the store, its objects and queries, over the
 * C library (librelstore). The Tortoise-like layer in the package's .py files is built on it.
 *
 * One store is open at a time (relstore.init() opens it), as one Tortoise connection is.
 * Each Model class is bound to a model of it: its fields and relations become descriptors
 * (Field, Relation) that read the object's values straight from the store, and an instance
 * of the class is an Object, a wrapper over a store_obj handle. A handle stays safe to read
 * after its object is deleted (it reads as an empty object); the store's closing is checked
 * through an epoch that each wrapper keeps and each close advances. Values given to a create,
 * an update or a query become store_value lists: str, int, float, bool, None, an Object (a
 * foreign key), and lists of those for in, not_in and range.
 *
 * Nothing here waits: every call is microseconds, under the store's own lock, except
 * snapshot() and close(), which release the GIL while they write (the Python layer runs them
 * on an executor thread, so the event loop never waits on the disk).
 *
 * Errors: a store code raises the exception class the Python layer registered for it
 * (setup()), with store_errmsg()'s detail: ENOTFOUND DoesNotExist, ECONSTRAINT
 * IntegrityError, EMULTIPLE MultipleObjectsReturned, EINVAL ValidationError, ESCHEMA
 * ConfigurationError, others OperationalError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <structmember.h>

#include <store.h>

/* ---- The one open store -------------------------------------------------------------------- */

static store *db;             /* NULL while closed (and while closing) */
static uint64_t epoch = 1;    /* advanced by each close: wrappers of an older epoch are dead */
static bool opening;          /* open() or close() is under way, without the GIL */
static int busy;              /* calls in the store without the GIL: close() refuses meanwhile */
/* The thread that holds the store's transaction (begun from Python), 0 when none: a call
 * from another thread may wait for the store's lock, so it waits without the GIL, or the
 * holder could never take the GIL to finish. */
static unsigned long txn_thread;
static int txn_depth;
static PyObject *errors[16];  /* exception class per -code (index 0: OperationalError) */
static PyObject *related_cls; /* the Python class of reverse relations (ReverseRelation) */
static PyObject *m2m_cls;     /* ... and of many-to-many ones (ManyToManyRelation) */
static PyObject *shapes;      /* the kept queries: bytes (a shape) -> capsule (see prepare()) */
static PyObject *terms_str, *not_str, *or_str, *tree_str; /* "terms", "not", "or", "_tree" */

/* Frees every kept query: before their store closes. */
static void shapes_clear(void)
{
    Py_CLEAR(shapes);
}

/* A field of a model as a keyword: its name interned (the object a call's keyword names are,
 * so that it is found by pointer), the store's own name for it and its type. */
typedef struct bound_key {
    PyObject *key;
    const char *name;
    store_type type;
} bound_key;

/* The models of the store and the Python class bound to each. */
typedef struct bound {
    store_model *model;
    PyTypeObject *cls; /* a strong reference; NULL until bind() */
    bool slow_create;  /* the class computes defaults in Python: create() goes through it */
    bound_key *keys;   /* its fields, as open() found them */
    size_t nkeys;
    PyObject *calls[3]; /* its get, create and filter (ClassCall), made when first asked */
} bound;
static bound *models;
static size_t nmodels;

static PyTypeObject ObjectType, FieldType, RelationType, RelIterType, ReadyType, QueryType;

/* RC = CALL, without the GIL when another thread holds a transaction (CALL may wait). */
#define LOCKING(rc, call)                                                                       \
    do {                                                                                        \
        if (txn_thread && txn_thread != PyThread_get_thread_ident()) {                          \
            busy++; /* close() waits for it */                                                  \
            Py_BEGIN_ALLOW_THREADS(rc) = (call);                                                \
            Py_END_ALLOW_THREADS                                                                \
            busy--;                                                                             \
        } else {                                                                                \
            (rc) = (call);                                                                      \
        }                                                                                       \
    } while (0)

/* Raises the exception registered for RC, with the store's detail. Returns NULL. */
static PyObject *store_error(int rc)
{
    int i = rc < 0 && -rc < (int)(sizeof errors / sizeof *errors) ? -rc : 0;
    PyObject *cls = errors[i] ? errors[i] : errors[0] ? errors[0] : PyExc_RuntimeError;
    const char *msg = store_errmsg(db);
    PyErr_Format(cls, "%s%s%s", store_strerror(rc), msg && *msg ? ": " : "", msg ? msg : "");
    return NULL;
}

static int need_open(void)
{
    if (db)
        return 0;
    PyErr_SetString(errors[0] ? errors[0] : PyExc_RuntimeError,
                    "relstore is not initialised: call relstore.init() first");
    return -1;
}

static PyTypeObject *class_of(const store_model *m)
{
    for (size_t i = 0; i < nmodels; i++)
        if (models[i].model == m)
            return models[i].cls;
    return NULL;
}

static bound *bound_of(PyTypeObject *cls)
{
    for (size_t i = 0; i < nmodels; i++)
        if (models[i].cls == cls)
            return &models[i];
    return NULL;
}

static store_model *model_of(PyTypeObject *cls)
{
    bound *b = bound_of(cls);
    return b ? b->model : NULL;
}

/* ---- Objects ------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    store_obj *obj;    /* NULL until saved, and after delete() */
    uint64_t id;       /* OBJ's id, kept here: readable after the store is closed; 0: none */
    uint64_t epoch;    /* the store's epoch when OBJ was taken */
    PyObject *pending; /* values set and not saved yet (a dict), or NULL */
    /* Or, as an object made with keywords holds them until they are asked for as a dict
     * (pending_dict()): the call's keyword names (a tuple) and their values (strong
     * references). bulk_create([Book(...) for ...]) reads them as they are: a dict per object
     * made, filled, walked by the collector and freed again cost more than the store's create
     * of it. */
    PyObject *kwnames;
    PyObject **kwvals;
} Object;

/* Whether PY is an Object: the slot a subclass keeps tells at once (a subclass that sets its
 * own __await__ is asked the long way). */
static PyObject *object_await(PyObject *o);

static bool is_object_fast(PyObject *py)
{
    PyAsyncMethods *am = Py_TYPE(py)->tp_as_async;
    return am && am->am_await == object_await;
}

static bool is_object(PyObject *py)
{
    return is_object_fast(py) || PyObject_TypeCheck(py, &ObjectType);
}

/* Drops O's keyword values. */
static void kw_drop(Object *o)
{
    PyObject *names = o->kwnames, **vals = o->kwvals;
    if (!names)
        return;
    o->kwnames = NULL;
    o->kwvals = NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++)
        Py_XDECREF(vals[i]);
    PyMem_Free(vals);
    Py_DECREF(names);
}

/* O's pending values as a dict (its keyword values become one), or NULL: none (an empty dict
 * is made when MAKE) or a failure (an exception set). Borrowed. */
static PyObject *pending_dict(Object *o, bool make)
{
    if (o->kwnames) {
        /* Code may run while the dict is made (a str subclass's __hash__, a finalizer of the
         * collector's) and drop O's keyword values or make them a dict itself: NAMES, held,
         * tells whether they are still O's before each is read, and before they go. */
        PyObject *names = Py_NewRef(o->kwnames), *d = PyDict_New();
        for (Py_ssize_t i = 0; d && o->kwnames == names && i < PyTuple_GET_SIZE(names); i++)
            if (PyDict_SetItem(d, PyTuple_GET_ITEM(names, i), o->kwvals[i]))
                Py_CLEAR(d);
        if (d && o->kwnames == names) {
            kw_drop(o);
            Py_XSETREF(o->pending, d);
        } else {
            Py_XDECREF(d); /* dropped or made a dict meanwhile: theirs stands */
            if (PyErr_Occurred()) {
                Py_DECREF(names);
                return NULL;
            }
        }
        Py_DECREF(names);
    }
    if (!o->pending && make) {
        PyObject *d = PyDict_New();
        if (d && !o->pending)
            o->pending = d;
        else
            Py_XDECREF(d); /* NULL: failed; or a dict made meanwhile, by code it ran */
    }
    return o->pending;
}

static void adopt(Object *o, store_obj *obj)
{
    o->obj = obj;
    o->id = store_id(obj);
    o->epoch = epoch;
}

/* A wrapper of OBJ (NULL: None) as an instance of its model's class. */
static PyObject *wrap(store_obj *obj)
{
    if (!obj)
        Py_RETURN_NONE;
    store_model *m = store_obj_model(obj);
    if (!m) /* deleted meanwhile */
        Py_RETURN_NONE;
    PyTypeObject *cls = class_of(m);
    if (!cls) {
        PyErr_Format(errors[0], "model %s has no Python class", store_model_name(m));
        return NULL;
    }
    Object *o = (Object *)cls->tp_alloc(cls, 0);
    if (o)
        adopt(o, obj);
    return (PyObject *)o;
}

/* O's handle, or NULL with an exception: unsaved, or of a closed store. */
static store_obj *handle(Object *o)
{
    if (!o->obj) {
        PyErr_Format(errors[0], "%s is not saved (or was deleted)", Py_TYPE(o)->tp_name);
        return NULL;
    }
    if (o->epoch != epoch) {
        PyErr_SetString(errors[0], "the store this object came from is closed");
        return NULL;
    }
    return o->obj;
}

/* A model's class is a heap subtype: its own dealloc (subtype_dealloc) clears the instance's
 * __dict__, calls this, then drops its reference to the class. */
static void object_dealloc(Object *o)
{
    PyObject_GC_UnTrack(o);
    Py_CLEAR(o->pending);
    kw_drop(o);
    Py_TYPE(o)->tp_free(o);
}

static int object_traverse(Object *o, visitproc visit, void *arg)
{
    Py_VISIT(o->pending);
    Py_VISIT(o->kwnames);
    for (Py_ssize_t i = 0; o->kwnames && i < PyTuple_GET_SIZE(o->kwnames); i++)
        Py_VISIT(o->kwvals[i]);
    return 0;
}

static int object_clear(Object *o)
{
    Py_CLEAR(o->pending);
    kw_drop(o);
    return 0;
}

/* Object(**values): an unsaved instance holding VALUES; save() creates it. */
static int object_init(Object *o, PyObject *args, PyObject *kw)
{
    if (PyTuple_GET_SIZE(args)) {
        PyErr_SetString(PyExc_TypeError, "a model takes its values as keywords");
        return -1;
    }
    PyObject *d = NULL;
    if (kw && PyDict_GET_SIZE(kw) && !(d = PyDict_Copy(kw)))
        return -1;
    /* The new values first (the copy may have run code): what dropping the former ones runs
     * finds them, and sets into them. */
    PyObject *old = o->pending;
    o->pending = d;
    kw_drop(o);
    Py_XDECREF(old);
    return 0;
}

/*
 * Book(title=..., author=...) without type's generic call: a model class gets this as its
 * vectorcall (fast_new()), so that making an unsaved object takes no keyword dict made for
 * the call and then copied, and no trip through tp_new and tp_init. A class with an __init__
 * or __new__ of its own (a default computed in Python) or positional arguments goes the
 * generic way, through type's own call.
 */
static PyObject *object_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                   PyObject *kwnames)
{
    PyTypeObject *type = (PyTypeObject *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    /* The metaclass's call as it is now (a __call__ given or patched later is its own). */
    ternaryfunc meta_call = Py_TYPE(callable)->tp_call;
    if (nargs || meta_call != PyType_Type.tp_call || type->tp_init != (initproc)object_init ||
        type->tp_new != PyType_GenericNew) {
        PyObject *a = PyTuple_New(nargs), *kw = nkw ? PyDict_New() : NULL, *r = NULL;
        for (Py_ssize_t i = 0; a && i < nargs; i++)
            PyTuple_SET_ITEM(a, i, Py_NewRef(args[i]));
        for (Py_ssize_t k = 0; kw && k < nkw; k++)
            if (PyDict_SetItem(kw, PyTuple_GET_ITEM(kwnames, k), args[nargs + k]))
                Py_CLEAR(kw);
        if (a && (kw || !nkw))
            r = meta_call ? meta_call(callable, a, kw) : PyType_Type.tp_call(callable, a, kw);
        Py_XDECREF(a);
        Py_XDECREF(kw);
        return r;
    }
    Object *o = (Object *)type->tp_alloc(type, 0);
    if (!o || !nkw)
        return (PyObject *)o;
    if (!(o->kwvals = PyMem_Malloc((size_t)nkw * sizeof *o->kwvals))) {
        Py_DECREF(o);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; k < nkw; k++)
        o->kwvals[k] = Py_NewRef(args[k]);
    o->kwnames = Py_NewRef(kwnames);
    return (PyObject *)o;
}

/* fast_new(metaclass, cls): CLS (a model class, whose type is METACLASS) is called through
 * object_vectorcall(), unless METACLASS has a __call__ of its own. Type's own vectorcall flag is not inherited by a metaclass made in
 * Python before 3.12: it is set here, with the offset of the slot that holds it. */
static PyObject *py_fast_new(PyObject *self, PyObject *args)
{
    (void)self;
    PyTypeObject *meta, *cls;
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &meta, &PyType_Type, &cls))
        return NULL;
    if (Py_TYPE(cls) != meta || !PyType_IsSubtype(cls, &ObjectType)) {
        PyErr_SetString(PyExc_TypeError, "fast_new(): a model class and its metaclass");
        return NULL;
    }
    if (meta->tp_call != PyType_Type.tp_call) /* a metaclass with a __call__ of its own */
        Py_RETURN_NONE;
    meta->tp_vectorcall_offset = offsetof(PyTypeObject, tp_vectorcall);
    meta->tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
    cls->tp_vectorcall = object_vectorcall;
    Py_RETURN_NONE;
}

static PyObject *object_get_id(Object *o, void *closure)
{
    (void)closure;
    if (!o->obj)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(o->id);
}

static PyObject *object_get_saved(Object *o, void *closure)
{
    (void)closure;
    return PyBool_FromLong(o->obj && o->epoch == epoch);
}

static PyObject *object_get_pending(Object *o, void *closure)
{
    (void)closure;
    PyObject *d = pending_dict(o, false);
    if (!d)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    return Py_NewRef(d);
}

static int object_set_pending(Object *o, PyObject *v, void *closure)
{
    (void)closure;
    if (v && v != Py_None && !PyDict_Check(v)) {
        PyErr_SetString(PyExc_TypeError, "_pending is a dict or None");
        return -1;
    }
    kw_drop(o);
    Py_XSETREF(o->pending, v && v != Py_None ? Py_NewRef(v) : NULL);
    return 0;
}

/* Instances compare and hash by model and id, as Tortoise's do; unsaved ones by identity. */
static PyObject *object_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(b, &ObjectType))
        Py_RETURN_NOTIMPLEMENTED;
    Object *x = (Object *)a, *y = (Object *)b;
    bool same = x == y || (x->obj && x->obj == y->obj && x->epoch == y->epoch);
    return PyBool_FromLong(op == Py_EQ ? same : !same);
}

/* By model and id, which never change; an object without an id is unhashable (Tortoise). */
static Py_hash_t object_hash(Object *o)
{
    if (!o->obj) {
        PyErr_Format(PyExc_TypeError, "a %s without an id (unsaved or deleted) is unhashable",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    Py_hash_t h = (Py_hash_t)(o->id * 1000003u) ^ (Py_hash_t)(uintptr_t)Py_TYPE(o);
    return h == -1 ? -2 : h;
}

/* await obj: the object itself (a FK's parent is already in memory, where Tortoise would
 * fetch it). */
static PyObject *ready_new(PyObject *value);

static PyObject *object_await(PyObject *o)
{
    return ready_new(o);
}

static PyGetSetDef object_getset[] = {
    {"id", (getter)object_get_id, NULL, "the object's id (None until saved)", NULL},
    {"pk", (getter)object_get_id, NULL, "the object's id (None until saved)", NULL},
    {"_saved_in_db", (getter)object_get_saved, NULL, "whether the object is in the store", NULL},
    {"_pending", (getter)object_get_pending, (setter)object_set_pending,
     "values set and not saved yet", NULL},
    {NULL},
};

static PyAsyncMethods object_async = {.am_await = object_await};

static PyTypeObject ObjectType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relstore._core.Object",
    .tp_basicsize = sizeof(Object),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "an object of the store (the base of relstore.models.Model)",
    .tp_dealloc = (destructor)object_dealloc,
    .tp_traverse = (traverseproc)object_traverse,
    .tp_clear = (inquiry)object_clear,
    .tp_init = (initproc)object_init,
    .tp_new = PyType_GenericNew,
    .tp_getset = object_getset,
    .tp_richcompare = object_richcompare,
    .tp_hash = (hashfunc)object_hash,
    .tp_as_async = &object_async,
};

/* ---- Ready: an awaitable whose value is already there ---------------------------------------- */

/* `await x` on a call that finished at once: __await__ returns the object itself as an
 * iterator whose first __next__ ends with the value (StopIteration). No coroutine frame, no
 * trip through the event loop. */
typedef struct {
    PyObject_HEAD
    PyObject *value;
} Ready;

/* Dead Readys kept for the next ones (as CPython keeps its floats and tuples): one is made
 * and dropped per call, and a new GC object each time also counts towards the next
 * collection. */
enum { READY_KEPT = 64 };
static Ready *ready_kept[READY_KEPT];
static int nready_kept;

static PyObject *ready_new(PyObject *value)
{
    Ready *r;
    if (nready_kept) {
        r = ready_kept[--nready_kept];
        PyObject_Init((PyObject *)r, &ReadyType);
    } else if (!(r = PyObject_GC_New(Ready, &ReadyType))) {
        return NULL;
    }
    r->value = Py_NewRef(value);
    PyObject_GC_Track(r);
    return (PyObject *)r;
}

/* The value V as a Ready, taking V's reference; NULL (V NULL) passes through. */
static PyObject *ready_steal(PyObject *v)
{
    if (!v)
        return NULL;
    PyObject *r = ready_new(v);
    Py_DECREF(v);
    return r;
}

static void ready_dealloc(Ready *r)
{
    PyObject_GC_UnTrack(r);
    Py_CLEAR(r->value);
    if (nready_kept < READY_KEPT)
        ready_kept[nready_kept++] = r;
    else
        PyObject_GC_Del(r);
}

static int ready_traverse(Ready *r, visitproc visit, void *arg)
{
    Py_VISIT(r->value);
    return 0;
}

static PyObject *ready_await(PyObject *r)
{
    return Py_NewRef(r);
}

static PyObject *ready_next(Ready *r)
{
    if (!r->value) {
        PyErr_SetString(PyExc_RuntimeError, "a relstore result awaited twice");
        return NULL;
    }
    PyObject *v = r->value;
    r->value = NULL;
    _PyGen_SetStopIterationValue(v);
    Py_DECREF(v);
    return NULL;
}

static PyObject *ready_send(Ready *r, PyObject *arg)
{
    (void)arg;
    return ready_next(r);
}

static PyObject *ready_throw(Ready *r, PyObject *args)
{
    (void)r;
    PyObject *type, *value = NULL, *tb = NULL;
    if (!PyArg_UnpackTuple(args, "throw", 1, 3, &type, &value, &tb))
        return NULL;
    if (PyExceptionInstance_Check(type))
        PyErr_SetObject((PyObject *)Py_TYPE(type), type);
    else if (PyExceptionClass_Check(type))
        PyErr_SetObject(type, value);
    else
        PyErr_SetString(PyExc_TypeError, "throw() takes an exception");
    return NULL;
}

static PyObject *ready_close(Ready *r, PyObject *unused)
{
    (void)unused;
    Py_CLEAR(r->value);
    Py_RETURN_NONE;
}

static PyMethodDef ready_methods[] = {
    {"send", (PyCFunction)ready_send, METH_O, NULL},
    {"throw", (PyCFunction)ready_throw, METH_VARARGS, NULL},
    {"close", (PyCFunction)ready_close, METH_NOARGS, NULL},
    {NULL},
};

/* The await itself (PyIter_Send() asks am_send first): the value, with no StopIteration
 * made to carry it. */
static PySendResult ready_send_slot(Ready *r, PyObject *arg, PyObject **result)
{
    (void)arg;
    if (!r->value) {
        PyErr_SetString(PyExc_RuntimeError, "a relstore result awaited twice");
        return PYGEN_ERROR;
    }
    *result = r->value;
    r->value = NULL;
    return PYGEN_RETURN;
}

static PyAsyncMethods ready_async = {.am_await = ready_await,
                                     .am_send = (sendfunc)ready_send_slot};

static PyTypeObject ReadyType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relstore._core.Ready",
    .tp_basicsize = sizeof(Ready),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "the result of a call that finished at once, to await",
    .tp_dealloc = (destructor)ready_dealloc,
    .tp_traverse = (traverseproc)ready_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)ready_next,
    .tp_methods = ready_methods,
    .tp_as_async = &ready_async,
};

/* ready(value): VALUE, to await. */
static PyObject *py_ready(PyObject *self, PyObject *value)
{
    (void)self;
    return ready_new(value);
}

/* ---- Values: Python to store_value ------------------------------------------------------------ */

/* The memory of one call's value lists (lists inside lists): freed together. */
typedef struct values {
    store_value *v;  /* the top list, ended by {0} */
    void *more[8];   /* lists for in / not_in / range */
    size_t nmore;
    PyObject *keep;  /* names made for the call ("author__id" for author_id), or NULL */
    store_value small[9];
} values;

static void values_free(values *vs)
{
    if (vs->v != vs->small)
        PyMem_Free(vs->v);
    for (size_t i = 0; i < vs->nmore; i++)
        PyMem_Free(vs->more[i]);
    Py_CLEAR(vs->keep);
    vs->v = NULL;
    vs->nmore = 0;
}

/* PY as the value OUT (name already set). 0, or -1 with an exception. */
static int to_value(PyObject *py, store_value *out, values *vs, bool lists)
{
    if (is_object_fast(py)) { /* an Object (the later test catches one with its __await__) */
        store_obj *h = handle((Object *)py);
        if (!h)
            return -1;
        out->kind = STORE_KIND_REF;
        out->u.ref = h;
    } else if (py == Py_None) {
        out->kind = STORE_KIND_NULL;
    } else if (PyBool_Check(py)) {
        out->kind = STORE_KIND_BOOL;
        out->u.b = py == Py_True;
    } else if (PyLong_Check(py)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(py, &overflow);
        if (overflow) {
            PyErr_Format(errors[1], "%s: %R does not fit in 64 bits", out->name, py);
            return -1;
        }
        if (v == -1 && PyErr_Occurred())
            return -1;
        out->kind = STORE_KIND_INT;
        out->u.i = v;
    } else if (PyFloat_Check(py)) {
        out->kind = STORE_KIND_FLOAT;
        out->u.f = PyFloat_AS_DOUBLE(py);
    } else if (PyUnicode_Check(py)) {
        Py_ssize_t len;
        const char *s;
        if (PyUnicode_IS_COMPACT_ASCII(py)) { /* its UTF-8 is its data */
            s = (const char *)PyUnicode_DATA(py);
            len = PyUnicode_GET_LENGTH(py);
        } else if (!(s = PyUnicode_AsUTF8AndSize(py, &len))) {
            return -1;
        }
        if ((size_t)len != strlen(s)) {
            PyErr_Format(errors[1], "%s: a string with a NUL character", out->name);
            return -1;
        }
        out->kind = STORE_KIND_STR;
        out->u.s = s;
    } else if (PyObject_TypeCheck(py, &ObjectType)) {
        store_obj *h = handle((Object *)py);
        if (!h)
            return -1;
        out->kind = STORE_KIND_REF;
        out->u.ref = h;
    } else if (lists && (PyList_Check(py) || PyTuple_Check(py) || PyAnySet_Check(py))) {
        PyObject *seq = PySequence_Fast(py, "a list of values");
        if (!seq)
            return -1;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        store_value *list = NULL;
        if (vs->nmore == sizeof vs->more / sizeof *vs->more) {
            PyErr_Format(PyExc_ValueError, "%s: too many lists in one call", out->name);
        } else if ((list = PyMem_Calloc((size_t)n + 1, sizeof *list))) {
            vs->more[vs->nmore++] = list;
            for (Py_ssize_t i = 0; i < n; i++) {
                list[i].name = out->name;
                if (to_value(PySequence_Fast_GET_ITEM(seq, i), &list[i], vs, false)) {
                    Py_DECREF(seq);
                    return -1;
                }
            }
            out->kind = STORE_KIND_LIST;
            out->u.list = list;
        } else {
            PyErr_NoMemory();
        }
        /* the items' UTF-8 is read by the store during the call: keep them all alive */
        if (list && ((!vs->keep && !(vs->keep = PyList_New(0))) || PyList_Append(vs->keep, seq)))
            list = NULL;
        Py_DECREF(seq);
        return list ? 0 : -1;
    } else {
        PyErr_Format(errors[1], "%s: relstore stores no %s (%R)", out->name,
                     Py_TYPE(py)->tp_name, py);
        return -1;
    }
    return 0;
}

/* VS ready for N values (its list zeroed, ended by {0}). 0, or -1 with an exception. */
static int values_init(values *vs, Py_ssize_t n)
{
    vs->nmore = 0;
    vs->keep = NULL;
    vs->v = (size_t)n < sizeof vs->small / sizeof *vs->small
                ? vs->small
                : PyMem_Calloc((size_t)n + 1, sizeof *vs->v);
    if (!vs->v) {
        PyErr_NoMemory();
        return -1;
    }
    if (vs->v == vs->small) /* PyMem_Calloc() zeroed a list of its own */
        memset(vs->v, 0, ((size_t)n + 1) * sizeof *vs->v);
    return 0;
}

/* The bound model M (for its keys), the last one asked kept at hand; NULL if not bound. */
static const bound *keys_of(const store_model *m)
{
    static size_t last;
    if (last < nmodels && models[last].model == m)
        return &models[last];
    for (size_t i = 0; i < nmodels; i++)
        if (models[i].model == m)
            return &models[(last = i)];
    return NULL;
}

/* The field of bound model B (NULL allowed) whose interned name is the object KEY, or NULL. */
static const bound_key *bound_key_find(const bound *b, PyObject *key)
{
    for (size_t j = 0; b && j < b->nkeys; j++)
        if (b->keys[j].key == key)
            return &b->keys[j];
    return NULL;
}

/* The value VAL of the field K as VS->v[*I], *I advanced (an int for a FLOAT field, but a
 * query's term, is a float). 0, or -1 with an exception. */
static inline int known_value(values *vs, Py_ssize_t *i, const bound_key *k, PyObject *val,
                              bool lists)
{
    store_value *out = &vs->v[*i];
    out->name = k->name;
    if (to_value(val, out, vs, lists))
        return -1;
    if (!lists && out->kind == STORE_KIND_INT && k->type == STORE_FLOAT) {
        out->kind = STORE_KIND_FLOAT;
        out->u.f = (double)out->u.i;
    }
    (*i)++;
    return 0;
}

/* The value VAL of keyword KEY as VS->v[*I], *I advanced. "pk" is "id"; with MODEL, a key
 * NAME_id that names no field but whose NAME is a foreign key of MODEL is that parent by id
 * (Tortoise's author_id=3): the parent object (LISTS: a query's term, "author__id" when no
 * parent has that id). 0, or -1 with an exception. */
static int key_value(values *vs, Py_ssize_t *i, PyObject *key, PyObject *val,
                     store_model *model, bool lists)
{
    /* A field's own name, as a call's keyword is: the store's name for it, found by pointer
     * (no UTF-8 read, no string compared, here or in the store). */
    const bound_key *k = model ? bound_key_find(keys_of(model), key) : NULL;
    if (k)
        return known_value(vs, i, k, val, lists);
    const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
    if (!name) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "field names are strings");
        return -1;
    }
    if (name[0] == 'p' && !strcmp(name, "pk"))
        name = "id";
    store_value *out = &vs->v[*i];
    out->name = name;
    size_t len = strlen(name);
    if (model && len > 3 && name[len - 3] == '_' && name[len - 2] == 'i' && name[len - 1] == 'd' &&
        !store_field_find(model, name)) {
        char fk[STORE_NAME_MAX + 1];
        snprintf(fk, sizeof fk, "%.*s", (int)(len - 3), name);
        const store_fld *f = store_field_find(model, fk);
        if (f && store_field_type(f) == STORE_FK) {
            out->name = store_field_name(f);
            if (val == Py_None) {
                out->kind = STORE_KIND_NULL;
                (*i)++;
                return 0;
            }
            unsigned long long id = PyLong_Check(val) ? PyLong_AsUnsignedLongLong(val) : 0;
            if (PyErr_Occurred()) {
                if (!lists)
                    return -1;
                PyErr_Clear(); /* a negative or huge id: no parent */
                id = 0;
            }
            store_obj *parent = NULL;
            if (store_get(db, store_field_target(f), id, &parent) == STORE_OK) {
                out->kind = STORE_KIND_REF;
                out->u.ref = parent;
                (*i)++;
                return 0;
            }
            if (!lists) {
                PyErr_Format(errors[3], "%s: no %s with id %R", name,
                             store_model_name(store_field_target(f)), val);
                return -1;
            }
            /* no such parent: the term by its path, which matches nothing */
            PyObject *path = PyUnicode_FromFormat("%s__id", fk);
            if (!path || (!vs->keep && !(vs->keep = PyList_New(0))) ||
                PyList_Append(vs->keep, path)) {
                Py_XDECREF(path);
                return -1;
            }
            Py_DECREF(path); /* the list keeps it for the call */
            out->name = PyUnicode_AsUTF8(path);
        }
    }
    if (to_value(val, out, vs, lists))
        return -1;
    if (!lists && model && out->kind == STORE_KIND_INT) { /* 3 for a FLOAT field is 3.0 */
        const store_fld *f = store_field_find(model, out->name);
        if (f && store_field_type(f) == STORE_FLOAT) {
            out->kind = STORE_KIND_FLOAT;
            out->u.f = (double)out->u.i;
        }
    }
    (*i)++;
    return 0;
}

/* The keyword values KW (a dict, may be NULL) as a list in VS->v (see key_value()). 0, or -1
 * with an exception (VS freed). */
static int to_values(PyObject *kw, values *vs, store_model *model, bool lists)
{
    if (values_init(vs, kw ? PyDict_GET_SIZE(kw) : 0))
        return -1;
    PyObject *key, *val;
    Py_ssize_t pos = 0, i = 0;
    while (kw && PyDict_Next(kw, &pos, &key, &val))
        if (key_value(vs, &i, key, val, model, lists)) {
            values_free(vs);
            return -1;
        }
    return 0;
}

/* The keyword arguments of a vectorcall (KWNAMES, their values at VALS) as to_values(). */
static int to_values_vec(PyObject *kwnames, PyObject *const *vals, values *vs,
                         store_model *model, bool lists)
{
    Py_ssize_t n = kwnames ? PyTuple_GET_SIZE(kwnames) : 0, i = 0;
    if (values_init(vs, n))
        return -1;
    for (Py_ssize_t k = 0; k < n; k++)
        if (key_value(vs, &i, PyTuple_GET_ITEM(kwnames, k), vals[k], model, lists)) {
            values_free(vs);
            return -1;
        }
    return 0;
}

/* ---- Fields: descriptors over a model's values --------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *name;       /* the attribute's name (interned) */
    const store_fld *fld; /* NULL until bound to an open store */
    store_model *model;   /* the model FLD belongs to */
    uint64_t epoch;
    PyObject *decl;       /* the declaration (a relstore.fields.Field), returned on the class */
} Field;

static void field_dealloc(Field *f)
{
    Py_CLEAR(f->name);
    Py_CLEAR(f->decl);
    Py_TYPE(f)->tp_free(f);
}

/* Field(name, decl) */
static int field_init(Field *f, PyObject *args, PyObject *kw)
{
    PyObject *name, *decl = Py_None;
    static char *kwlist[] = {"name", "decl", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "U|O", kwlist, &name, &decl))
        return -1;
    Py_INCREF(name);
    PyUnicode_InternInPlace(&name);
    Py_XSETREF(f->name, name);
    Py_XSETREF(f->decl, Py_NewRef(decl));
    return 0;
}

/* The value of field F of O, as Python. */
static PyObject *field_value(const store_obj *obj, const store_fld *fld)
{
    if (store_field_is_null(obj, fld))
        Py_RETURN_NONE;
    switch (store_field_type(fld)) {
    case STORE_CHAR:
    case STORE_TEXT: {
        const char *s = store_field_str(obj, fld);
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), NULL);
    }
    case STORE_INT:
        return PyLong_FromLongLong(store_field_int(obj, fld));
    case STORE_FLOAT:
        return PyFloat_FromDouble(store_field_float(obj, fld));
    case STORE_BOOL:
        return PyBool_FromLong(store_field_bool(obj, fld));
    case STORE_FK:
        return wrap(store_field_ref(obj, fld));
    default:
        Py_RETURN_NONE;
    }
}

/* Whether INST may be read or set through the descriptor named NAME: an Object (and NAME set:
 * the descriptor was initialised). */
static int check_inst(PyObject *name, PyObject *inst)
{
    if (!name) {
        PyErr_SetString(PyExc_TypeError, "an uninitialised relstore descriptor");
        return -1;
    }
    if (!PyObject_TypeCheck(inst, &ObjectType)) {
        PyErr_Format(PyExc_TypeError, "%U belongs to a relstore model, not to %s", name,
                     Py_TYPE(inst)->tp_name);
        return -1;
    }
    return 0;
}

static PyObject *field_get(Field *f, PyObject *inst, PyObject *owner)
{
    (void)owner;
    if (!inst || inst == Py_None)
        return Py_NewRef(f->decl && f->decl != Py_None ? f->decl : (PyObject *)f);
    if (check_inst(f->name, inst))
        return NULL;
    Object *o = (Object *)inst;
    if (o->kwnames && !pending_dict(o, false) && PyErr_Occurred())
        return NULL;
    if (o->pending) {
        PyObject *v = PyDict_GetItemWithError(o->pending, f->name);
        if (v)
            return Py_NewRef(v);
        if (PyErr_Occurred())
            return NULL;
    }
    if (!o->obj) {
        /* unsaved: the declared default, or None */
        if (f->decl && f->decl != Py_None)
            return PyObject_CallMethod(f->decl, "_default_value", NULL);
        Py_RETURN_NONE;
    }
    if (!f->fld || f->epoch != epoch || o->epoch != epoch) {
        PyErr_Format(errors[0], "%U: the store is closed", f->name);
        return NULL;
    }
    store_model *m = store_obj_model(o->obj);
    if (m != f->model) {
        if (!m) /* deleted by someone else: an empty object */
            Py_RETURN_NONE;
        PyErr_Format(PyExc_TypeError, "%U is a field of another model than %s's", f->name,
                     store_model_name(m));
        return NULL;
    }
    return field_value(o->obj, f->fld);
}

/* obj.field = value: kept until save(). */
static int field_set(Field *f, PyObject *inst, PyObject *value)
{
    if (check_inst(f->name, inst))
        return -1;
    Object *o = (Object *)inst;
    if (!value) {
        PyErr_Format(PyExc_AttributeError, "%U cannot be deleted", f->name);
        return -1;
    }
    PyObject *d = pending_dict(o, true);
    return d ? PyDict_SetItem(d, f->name, value) : -1;
}

static PyMemberDef field_members[] = {
    {"name", T_OBJECT, offsetof(Field, name), READONLY, NULL},
    {"decl", T_OBJECT, offsetof(Field, decl), READONLY, NULL},
    {NULL},
};

static PyTypeObject FieldType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relstore._core.Field",
    .tp_basicsize = sizeof(Field),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a field of a model: reads the object's value from the store",
    .tp_dealloc = (destructor)field_dealloc,
    .tp_init = (initproc)field_init,
    .tp_new = PyType_GenericNew,
    .tp_descr_get = (descrgetfunc)field_get,
    .tp_descr_set = (descrsetfunc)field_set,
    .tp_members = field_members,
};

/* ---- Relations: reverse foreign keys, one-to-ones and many-to-manys ------------------------ */

enum { REL_REVERSE, REL_ONE, REL_M2M };

typedef struct {
    PyObject_HEAD
    PyObject *name;      /* the relation's name on this model */
    int kind;            /* REL_* */
    const store_fld *rel; /* REL_REVERSE: the handle from store_relation_find() */
    store_model *model;   /* the model the relation is a relation of */
    uint64_t epoch;
    /* a bound view (obj.books): the parent, or NULL on the descriptor itself */
    PyObject *parent;
} Relation;

static void relation_dealloc(Relation *r)
{
    PyObject_GC_UnTrack(r);
    Py_CLEAR(r->name);
    Py_CLEAR(r->parent);
    Py_TYPE(r)->tp_free(r);
}

static int relation_traverse(Relation *r, visitproc visit, void *arg)
{
    Py_VISIT(r->parent);
    return 0;
}

/* Relation(name, kind) */
static int relation_init(Relation *r, PyObject *args, PyObject *kw)
{
    PyObject *name;
    int kind;
    static char *kwlist[] = {"name", "kind", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Ui", kwlist, &name, &kind))
        return -1;
    Py_INCREF(name);
    PyUnicode_InternInPlace(&name);
    Py_XSETREF(r->name, name);
    r->kind = kind;
    return 0;
}

/* The walk of R's children: the reverse relation, or the many-to-many's far objects. */
static int relation_walk(Relation *r, store_iter *it)
{
    store_obj *parent = handle((Object *)r->parent);
    if (!parent)
        return -1;
    if (r->kind == REL_M2M) {
        *it = store_m2m(parent, PyUnicode_AsUTF8(r->name));
    } else {
        if (!r->rel || r->epoch != epoch) {
            PyErr_Format(errors[0], "%U: the store is closed", r->name);
            return -1;
        }
        *it = store_reverse_fld(parent, r->rel);
    }
    return 0;
}

static PyObject *relation_get(Relation *r, PyObject *inst, PyObject *owner)
{
    (void)owner;
    if (!inst || inst == Py_None)
        return Py_NewRef(r);
    if (check_inst(r->name, inst))
        return NULL;
    Object *o = (Object *)inst;
    if (o->obj && o->epoch == epoch && r->epoch == epoch && store_obj_model(o->obj) &&
        store_obj_model(o->obj) != r->model) {
        PyErr_Format(PyExc_TypeError, "%U is a relation of another model", r->name);
        return NULL;
    }
    if (r->kind == REL_ONE) {
        store_obj *parent = handle((Object *)inst);
        if (!parent)
            return NULL;
        return wrap(store_reverse_one(parent, PyUnicode_AsUTF8(r->name)));
    }
    PyObject *cls = r->kind == REL_M2M ? m2m_cls : related_cls;
    PyTypeObject *t = cls ? (PyTypeObject *)cls : &RelationType;
    Relation *view = (Relation *)t->tp_alloc(t, 0);
    if (!view)
        return NULL;
    view->name = Py_NewRef(r->name);
    view->kind = r->kind;
    view->rel = r->rel;
    view->model = r->model;
    view->epoch = r->epoch;
    view->parent = Py_NewRef(inst);
    return (PyObject *)view;
}

static Py_ssize_t relation_len(Relation *r)
{
    if (!r->parent) {
        PyErr_SetString(PyExc_TypeError, "a relation of the class has no length");
        return -1;
    }
    store_iter it;
    if (relation_walk(r, &it))
        return -1;
    return (Py_ssize_t)store_count(&it);
}

/* A walk of a relation from Python: the children are taken when it starts (the store never
 * reuses an object's memory, so the pointers stay readable), and those deleted since are
 * skipped; so any change during the loop, deleting the parent included, is safe. */
typedef struct {
    PyObject_HEAD
    PyObject *parent;
    store_obj **objs; /* SMALL, or allocated */
    size_t n, at;
    uint64_t epoch;
    store_obj *small[16];
} RelIter;

static PyObject *relation_iter(Relation *r)
{
    if (!r->parent) {
        PyErr_SetString(PyExc_TypeError, "iterate over the relation of an object");
        return NULL;
    }
    RelIter *i = PyObject_GC_New(RelIter, &RelIterType);
    if (!i)
        return NULL;
    i->parent = Py_NewRef(r->parent);
    i->epoch = epoch;
    i->objs = i->small;
    i->n = i->at = 0;
    PyObject_GC_Track(i);
    store_iter it;
    if (relation_walk(r, &it)) {
        Py_DECREF(i);
        return NULL;
    }
    size_t n = store_count(&it);
    if (n > sizeof i->small / sizeof *i->small && !(i->objs = PyMem_Malloc(n * sizeof *i->objs))) {
        i->objs = i->small;
        Py_DECREF(i);
        return PyErr_NoMemory();
    }
    for (store_obj *c; i->n < n && (c = store_next(&it));)
        i->objs[i->n++] = c;
    return (PyObject *)i;
}

/* The children as a list. */
static PyObject *relation_list(Relation *r, PyObject *unused)
{
    (void)unused;
    store_iter it;
    if (!r->parent) {
        PyErr_SetString(PyExc_TypeError, "list the relation of an object");
        return NULL;
    }
    if (relation_walk(r, &it))
        return NULL;
    PyObject *list = PyList_New((Py_ssize_t)store_count(&it));
    if (!list)
        return NULL;
    Py_ssize_t n = 0;
    for (store_obj *c; (c = store_next(&it)) && n < PyList_GET_SIZE(list); n++) {
        PyObject *w = wrap(c);
        if (!w) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, n, w);
    }
    if (n < PyList_GET_SIZE(list) && PyList_SetSlice(list, n, PyList_GET_SIZE(list), NULL)) {
        Py_DECREF(list);
        return NULL;
    }
    return list;
}

static PyMemberDef relation_members[] = {
    {"name", T_OBJECT, offsetof(Relation, name), READONLY, NULL},
    {"instance", T_OBJECT, offsetof(Relation, parent), READONLY, NULL},
    {"kind", T_INT, offsetof(Relation, kind), READONLY, NULL},
    {NULL},
};

static PyMethodDef relation_methods[] = {
    {"_list", (PyCFunction)relation_list, METH_NOARGS, "the related objects, as a list"},
    {NULL},
};

static PySequenceMethods relation_seq = {.sq_length = (lenfunc)relation_len};

static PyTypeObject RelationType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relstore._core.Relation",
    .tp_basicsize = sizeof(Relation),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "a relation of a model, or of one object (obj.books)",
    .tp_dealloc = (destructor)relation_dealloc,
    .tp_traverse = (traverseproc)relation_traverse,
    .tp_init = (initproc)relation_init,
    .tp_new = PyType_GenericNew,
    .tp_descr_get = (descrgetfunc)relation_get,
    .tp_iter = (getiterfunc)relation_iter,
    .tp_as_sequence = &relation_seq,
    .tp_members = relation_members,
    .tp_methods = relation_methods,
};

static void reliter_dealloc(RelIter *i)
{
    PyObject_GC_UnTrack(i);
    Py_CLEAR(i->parent);
    if (i->objs != i->small)
        PyMem_Free(i->objs);
    PyObject_GC_Del(i);
}

static int reliter_traverse(RelIter *i, visitproc visit, void *arg)
{
    Py_VISIT(i->parent);
    return 0;
}

static PyObject *reliter_next(RelIter *i)
{
    if (i->epoch != epoch) {
        PyErr_SetString(errors[0], "the store was closed during the walk");
        return NULL;
    }
    while (i->at < i->n) {
        store_obj *c = i->objs[i->at++];
        if (store_obj_model(c)) /* not deleted since the walk began */
            return wrap(c);
    }
    return NULL;
}

static PyTypeObject RelIterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relstore._core.RelationIterator",
    .tp_basicsize = sizeof(RelIter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_dealloc = (destructor)reliter_dealloc,
    .tp_traverse = (traverseproc)reliter_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)reliter_next,
};

/* ---- Opening and closing ------------------------------------------------------------------ */

static const char *const type_names[] = {"", "char", "text", "int", "float", "bool", "fk", "m2m"};

static store_type type_code(const char *name)
{
    for (int t = 1; t < (int)(sizeof type_names / sizeof *type_names); t++)
        if (!strcmp(name, type_names[t]))
            return (store_type)t;
    return 0;
}

/* A string attribute ATTR of the dict D, or NULL (none, or None); -1 in *BAD on an error. */
static const char *dict_str(PyObject *d, const char *attr, int *bad)
{
    PyObject *v = PyDict_GetItemString(d, attr);
    if (!v || v == Py_None)
        return NULL;
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "%s must be a string", attr);
        *bad = -1;
    }
    return s;
}

/* A flag attribute ATTR of the dict D: 1, 0, or -1 with an exception. */
static int dict_flag(PyObject *d, const char *attr)
{
    PyObject *v = PyDict_GetItemString(d, attr);
    return v ? PyObject_IsTrue(v) : 0;
}

/* One field declaration, (name, type, attrs), into F; strings point into the tuple. */
static int declare_field(PyObject *decl, store_field *f, values *dflt)
{
    const char *name, *type;
    PyObject *attrs;
    if (!PyArg_ParseTuple(decl, "ssO!", &name, &type, &PyDict_Type, &attrs))
        return -1;
    int bad = 0;
    *f = (store_field){.name = name, .type = type_code(type)};
    if (!f->type) {
        PyErr_Format(PyExc_ValueError, "%s: unknown field type %s", name, type);
        return -1;
    }
    PyObject *ml = PyDict_GetItemString(attrs, "max_length");
    if (ml && ml != Py_None) {
        f->max_length = PyLong_AsSize_t(ml);
        if (PyErr_Occurred())
            return -1;
    }
    f->to = dict_str(attrs, "to", &bad);
    f->related_name = dict_str(attrs, "related_name", &bad);
    f->through = dict_str(attrs, "through", &bad);
    const char *rule = dict_str(attrs, "on_delete", &bad);
    if (bad)
        return -1;
    f->on_delete = !rule || !strcmp(rule, "CASCADE") ? STORE_CASCADE
                   : !strcmp(rule, "RESTRICT")       ? STORE_RESTRICT
                   : !strcmp(rule, "SET NULL") || !strcmp(rule, "SET_NULL") ? STORE_SET_NULL
                                                                            : (store_on_delete)-1;
    if ((int)f->on_delete < 0) {
        PyErr_Format(PyExc_ValueError, "%s: unknown on_delete rule %s", name, rule);
        return -1;
    }
    int null = dict_flag(attrs, "null"), unique = dict_flag(attrs, "unique");
    int index = dict_flag(attrs, "index"), ordered = dict_flag(attrs, "ordered");
    if (null < 0 || unique < 0 || index < 0 || ordered < 0)
        return -1;
    f->null = null;
    f->unique = unique;
    f->index = index;
    f->ordered = ordered;
    PyObject *d = PyDict_GetItemString(attrs, "default");
    if (d && d != Py_None) {
        dflt->v = dflt->small;
        dflt->nmore = 0;
        dflt->keep = NULL;
        f->default_value.name = name;
        if (to_value(d, &f->default_value, dflt, false))
            return -1;
        if (f->default_value.kind == STORE_KIND_INT && f->type == STORE_FLOAT) {
            f->default_value.kind = STORE_KIND_FLOAT;
            f->default_value.u.f = (double)f->default_value.u.i;
        }
        f->default_value.name = NULL;
    }
    return 0;
}

/* open(schema, path, readonly, nosync): opens THE store. SCHEMA is a list of (model, fields)
 * with fields a list of (name, type, attrs). Returns the model names in order. */
static PyObject *py_open(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    PyObject *schema, *path_obj = Py_None;
    int readonly = 0, nosync = 0;
    static char *kwlist[] = {"schema", "path", "readonly", "nosync", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|Opp", kwlist, &PyList_Type, &schema,
                                     &path_obj, &readonly, &nosync))
        return NULL;
    if (db || opening) {
        PyErr_SetString(errors[0], db ? "relstore is initialised already: close() it first"
                                      : "relstore is being opened or closed by another thread");
        return NULL;
    }
    const char *path = path_obj == Py_None ? NULL : PyUnicode_AsUTF8(path_obj);
    if (path_obj != Py_None && !path)
        return NULL;
    store_schema *s;
    int rc = store_schema_new(&s);
    if (rc)
        return store_error(rc);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(schema); i++) {
        const char *name;
        PyObject *fields;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(schema, i), "sO!", &name, &PyList_Type, &fields))
            goto fail;
        Py_ssize_t n = PyList_GET_SIZE(fields);
        store_field *decl = PyMem_Calloc((size_t)n + 1, sizeof *decl);
        values *dflts = PyMem_Calloc((size_t)n + 1, sizeof *dflts);
        if (!decl || !dflts) {
            PyMem_Free(decl);
            PyMem_Free(dflts);
            PyErr_NoMemory();
            goto fail;
        }
        int bad = 0;
        for (Py_ssize_t j = 0; j < n && !bad; j++)
            bad = declare_field(PyList_GET_ITEM(fields, j), &decl[j], &dflts[j]);
        rc = bad ? 0 : store_schema_add(s, name, decl);
        for (Py_ssize_t j = 0; j < n; j++)
            if (dflts[j].v)
                values_free(&dflts[j]);
        PyMem_Free(decl);
        PyMem_Free(dflts);
        if (bad)
            goto fail;
        if (rc) {
            store_error(rc);
            goto fail;
        }
    }
    store_options opts = {.flags = (readonly ? STORE_OPEN_READONLY : 0) |
                                   (nosync ? STORE_OPEN_NOSYNC : 0)};
    store *opened = NULL;
    opening = true; /* no other open() meanwhile */
    Py_BEGIN_ALLOW_THREADS
    rc = store_open(&opened, s, path, &opts);
    Py_END_ALLOW_THREADS
    opening = false;
    store_schema_free(s);
    if (rc)
        return store_error(rc);
    db = opened;
    nmodels = 0;
    while (store_model_at(db, nmodels))
        nmodels++;
    models = PyMem_Calloc(nmodels ? nmodels : 1, sizeof *models);
    PyObject *names = PyList_New((Py_ssize_t)nmodels);
    if (!models || !names) {
        Py_XDECREF(names);
        PyErr_NoMemory();
        return NULL; /* the store stays open: close() frees it */
    }
    txn_thread = 0;
    txn_depth = 0;
    for (size_t i = 0; i < nmodels; i++) {
        bound *b = &models[i];
        b->model = store_model_at(db, i);
        PyObject *n = PyUnicode_FromString(store_model_name(b->model));
        while (store_field_at(b->model, b->nkeys))
            b->nkeys++;
        if (n && !(b->keys = PyMem_Calloc(b->nkeys ? b->nkeys : 1, sizeof *b->keys)))
            Py_CLEAR(n);
        for (size_t j = 0; n && j < b->nkeys; j++) {
            const store_fld *f = store_field_at(b->model, j);
            b->keys[j].name = store_field_name(f);
            b->keys[j].type = store_field_type(f);
            if (!(b->keys[j].key = PyUnicode_InternFromString(b->keys[j].name)))
                Py_CLEAR(n);
        }
        if (!n) {
            Py_DECREF(names);
            if (!PyErr_Occurred())
                PyErr_NoMemory();
            return NULL; /* the store stays open: close() frees it */
        }
        PyList_SET_ITEM(names, (Py_ssize_t)i, n);
    }
    return names;
fail:
    store_schema_free(s);
    return NULL;
}

/* bind(model_name, cls, descriptors): CLS is the class of the model; DESCRIPTORS its Field
 * and Relation objects, resolved here against the open store. */
static PyObject *py_bind(PyObject *self, PyObject *args)
{
    (void)self;
    const char *name;
    PyObject *cls, *descs;
    int slow = 0;
    if (!PyArg_ParseTuple(args, "sO!O!|p", &name, &PyType_Type, &cls, &PyList_Type, &descs,
                          &slow))
        return NULL;
    if (need_open())
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)cls, &ObjectType)) {
        PyErr_SetString(PyExc_TypeError, "a model class derives from relstore.models.Model");
        return NULL;
    }
    store_model *m = store_model_find(db, name);
    bound *b = NULL;
    for (size_t i = 0; i < nmodels; i++)
        if (models[i].model == m)
            b = &models[i];
    if (!b) {
        PyErr_Format(errors[0], "the store has no model %s", name);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(descs); i++) {
        PyObject *d = PyList_GET_ITEM(descs, i);
        if (PyObject_TypeCheck(d, &FieldType)) {
            Field *f = (Field *)d;
            if (!f->name) {
                PyErr_SetString(PyExc_TypeError, "an uninitialised Field");
                return NULL;
            }
            f->fld = store_field_find(m, PyUnicode_AsUTF8(f->name));
            f->model = m;
            f->epoch = epoch;
            if (!f->fld) {
                PyErr_Format(errors[0], "%s has no field %U", name, f->name);
                return NULL;
            }
        } else if (PyObject_TypeCheck(d, &RelationType)) {
            Relation *r = (Relation *)d;
            if (!r->name) {
                PyErr_SetString(PyExc_TypeError, "an uninitialised Relation");
                return NULL;
            }
            r->model = m;
            r->epoch = epoch;
            r->rel = r->kind == REL_REVERSE ? store_relation_find(m, PyUnicode_AsUTF8(r->name))
                                            : NULL;
            if (r->kind == REL_REVERSE && !r->rel) {
                PyErr_Format(errors[0], "%s has no relation %U", name, r->name);
                return NULL;
            }
        } else {
            PyErr_SetString(PyExc_TypeError, "bind() takes Field and Relation objects");
            return NULL;
        }
    }
    if (b->cls != (PyTypeObject *)cls) /* the calls kept are the former class's */
        for (size_t i = 0; i < sizeof b->calls / sizeof *b->calls; i++)
            Py_CLEAR(b->calls[i]);
    Py_XSETREF(b->cls, (PyTypeObject *)Py_NewRef(cls));
    b->slow_create = slow;
    Py_RETURN_NONE;
}

/* Forgets the closed store's models and classes. */
static void forget(void)
{
    /* Taken out first: what the references dropped here run (finalizers) finds no model. */
    bound *ms = models;
    size_t n = nmodels;
    models = NULL;
    nmodels = 0;
    for (size_t i = 0; i < n; i++) {
        Py_CLEAR(ms[i].cls);
        for (size_t j = 0; j < sizeof ms[i].calls / sizeof *ms[i].calls; j++)
            Py_CLEAR(ms[i].calls[j]);
        for (size_t j = 0; ms[i].keys && j < ms[i].nkeys; j++)
            Py_CLEAR(ms[i].keys[j].key);
        PyMem_Free(ms[i].keys);
    }
    PyMem_Free(ms);
}

/* close(): snapshot (a store with a file) and close, without the GIL. */
static PyObject *py_close(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!db)
        Py_RETURN_NONE;
    if (busy || txn_thread) {
        PyErr_SetString(errors[-STORE_EBUSY], "relstore: a snapshot or a transaction is under "
                        "way: close() after it");
        return NULL;
    }
    /* Closed for every other caller before the GIL goes: new calls find no store, and every
     * object and descriptor of this one is stale (its epoch is past). */
    shapes_clear(); /* the kept queries go before their store */
    store *d = db;
    db = NULL;
    uint64_t was = epoch++;
    int rc;
    opening = true; /* no open() until this store's models are forgotten */
    Py_BEGIN_ALLOW_THREADS
    rc = store_close(d);
    Py_END_ALLOW_THREADS
    if (rc == STORE_EBUSY) { /* a transaction of some thread is open: the store stays */
        opening = false;
        db = d;
        epoch = was;
        return store_error(rc);
    }
    forget();
    opening = false;
    if (rc)
        return store_error(rc);
    Py_RETURN_NONE;
}

/* snapshot(): write the changes to the file, without the GIL. */
static PyObject *py_snapshot(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (need_open())
        return NULL;
    int rc;
    store *d = db;
    busy++; /* close() waits for it */
    Py_BEGIN_ALLOW_THREADS
    rc = store_snapshot(d);
    Py_END_ALLOW_THREADS
    busy--;
    if (rc)
        return store_error(rc);
    Py_RETURN_NONE;
}

static PyObject *py_check(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (need_open())
        return NULL;
    int rc = store_check(db);
    if (rc)
        return store_error(rc);
    Py_RETURN_NONE;
}

static PyObject *py_is_open(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(db != NULL);
}

static PyObject *queryset_cls; /* the Python QuerySet: what Model.filter() makes */
static PyObject *params_error; /* ParamsError */

/* setup(errors, related_cls, m2m_cls, queryset_cls, params_error): ERRORS maps codes (0: the
 * default) to classes; QUERYSET_CLS is a subclass of Query. */
static PyObject *py_setup(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *errs, *rel, *m2m, *qs, *perr;
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyDict_Type, &errs, &rel, &m2m, &qs, &perr))
        return NULL;
    if (!PyType_Check(qs) || !PyType_IsSubtype((PyTypeObject *)qs, &QueryType)) {
        PyErr_SetString(PyExc_TypeError, "setup(): the queryset class is not a Query");
        return NULL;
    }
    Py_XSETREF(queryset_cls, Py_NewRef(qs));
    Py_XSETREF(params_error, Py_NewRef(perr));
    for (int i = 0; i < (int)(sizeof errors / sizeof *errors); i++) {
        PyObject *key = PyLong_FromLong(-i);
        PyObject *cls = key ? PyDict_GetItemWithError(errs, key) : NULL;
        Py_XDECREF(key);
        if (PyErr_Occurred())
            return NULL;
        Py_XSETREF(errors[i], Py_XNewRef(cls));
    }
    Py_XSETREF(related_cls, Py_NewRef(rel));
    Py_XSETREF(m2m_cls, Py_NewRef(m2m));
    Py_RETURN_NONE;
}

/* ---- Objects: create, get, update, delete --------------------------------------------------- */

static store_model *bound_model(PyObject *cls)
{
    if (need_open())
        return NULL;
    store_model *m = PyType_Check(cls) ? model_of((PyTypeObject *)cls) : NULL;
    if (!m)
        PyErr_Format(errors[0], "%R is not a model of the open store", cls);
    return m;
}

/* create(cls, values) -> a new object. */
static PyObject *py_create(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cls, *kw;
    if (!PyArg_ParseTuple(args, "OO!", &cls, &PyDict_Type, &kw))
        return NULL;
    store_model *m = bound_model(cls);
    values vs;
    if (!m || to_values(kw, &vs, m, false))
        return NULL;
    store_obj *obj;
    int rc;
    LOCKING(rc, store_create(db, m, vs.v, &obj));
    values_free(&vs);
    return rc ? store_error(rc) : wrap(obj);
}

/* get(cls, id) -> the object, or DoesNotExist. */
static PyObject *get_by_id(PyObject *cls, PyObject *id_obj)
{
    store_model *m = bound_model(cls);
    if (!m)
        return NULL;
    unsigned long long id = PyLong_Check(id_obj) ? PyLong_AsUnsignedLongLong(id_obj) : 0;
    if (PyErr_Occurred()) {
        PyErr_Clear();
        id = 0; /* a negative or huge id is no object's */
    } else if (!PyLong_Check(id_obj)) {
        PyErr_Format(PyExc_TypeError, "an id is an int, not %s", Py_TYPE(id_obj)->tp_name);
        return NULL;
    }
    store_obj *obj;
    int rc = store_get(db, m, id, &obj);
    if (rc == STORE_ENOTFOUND || (!rc && !obj)) {
        PyErr_Format(errors[-STORE_ENOTFOUND], "%s has no object with id %R",
                     store_model_name(m), id_obj);
        return NULL;
    }
    return rc ? store_error(rc) : wrap(obj);
}

static PyObject *py_get(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cls, *id;
    if (!PyArg_ParseTuple(args, "OO", &cls, &id))
        return NULL;
    return get_by_id(cls, id);
}

/* Calls CLS.NAME(*ARGS, **KWNAMES): the Python side of a class method done in C. */
static PyObject *call_python(PyTypeObject *cls, const char *name, PyObject *const *args,
                             Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *fn = PyObject_GetAttrString((PyObject *)cls, name);
    if (!fn)
        return NULL;
    PyObject *r = PyObject_Vectorcall(fn, args, (size_t)nargs, kwnames);
    Py_DECREF(fn);
    return r;
}

static PyObject *id_str, *pk_str; /* interned "id" and "pk" */

/* Model.get(*args, **lookups): by id (get(id=N), get(pk=N)) at once, here; any other lookup
 * through the class's _get_query() (a queryset's get). To await. */
static PyObject *object_get_cm(PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    if (nargs == 0 && kwnames && PyTuple_GET_SIZE(kwnames) == 1 && PyLong_Check(args[0])) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, 0);
        if (k == id_str || k == pk_str || !PyUnicode_Compare(k, id_str) ||
            !PyUnicode_Compare(k, pk_str))
            return ready_steal(get_by_id((PyObject *)cls, args[0]));
    }
    return call_python(cls, "_get_query", args, nargs, kwnames);
}

/* Model.create(**values): the new object, to await. A class whose defaults Python computes
 * goes through its _create_slow(). */
static PyObject *object_create_cm(PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    if (nargs) {
        PyErr_SetString(PyExc_TypeError, "create() takes the values as keywords");
        return NULL;
    }
    if (need_open())
        return NULL;
    bound *b = bound_of(cls);
    if (!b) {
        PyErr_Format(errors[0], "%s is not a model of the open store", cls->tp_name);
        return NULL;
    }
    if (b->slow_create)
        return call_python(cls, "_create_slow", args, nargs, kwnames);
    /* A parent's slot (anywhere in memory) starts loading now, while the values are made:
     * the store reads it first thing, then its last child (a prefetch never faults, so a
     * stale handle does no harm here; handle() judges it below). */
    for (Py_ssize_t k = 0; kwnames && k < PyTuple_GET_SIZE(kwnames); k++)
        if (is_object_fast(args[k]) && ((Object *)args[k])->obj)
            __builtin_prefetch(((Object *)args[k])->obj, 0);
    values vs;
    if (to_values_vec(kwnames, args, &vs, b->model, false))
        return NULL;
    store_obj *obj;
    int rc;
    LOCKING(rc, store_create(db, b->model, vs.v, &obj));
    values_free(&vs);
    return rc ? store_error(rc) : ready_steal(wrap(obj));
}

static PyObject *object_filter_cm(PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames);

static PyMethodDef object_methods[] = {
    {"filter", (PyCFunction)(void (*)(void))object_filter_cm,
     METH_CLASS | METH_FASTCALL | METH_KEYWORDS,
     "filter(*q, **terms): a queryset of the objects that meet them all"},
    {"get", (PyCFunction)(void (*)(void))object_get_cm, METH_CLASS | METH_FASTCALL | METH_KEYWORDS,
     "get(**lookups): the one object they match (DoesNotExist, MultipleObjectsReturned)"},
    {"create", (PyCFunction)(void (*)(void))object_create_cm,
     METH_CLASS | METH_FASTCALL | METH_KEYWORDS, "create(**values): a new object"},
    {NULL},
};

/* ---- Class calls: Book.create(...) without a bound method per call ------------------------ */

/*
 * Model.get, Model.create and Model.filter are class methods of Object; each look-up of one
 * (Book.create) makes a bound method object, which the call then drops. The Model class holds
 * instead a ClassCall for each (models.py sets them): a callable that, found through a model
 * class (Book.create, book.create, super().create() in a subclass), gives that class's own
 * ClassCall, made once and kept with the bound model while the store is open, so that
 * Book.create is the same object each time and its call makes none. It calls the same C
 * function the class method does. Like a bound class method it has __self__ (the class),
 * __func__ (taking the class first), __name__ and __qualname__. Being on Model only, a class
 * that defines its own create, or a patch of Model.create, is found as Python finds it.
 */
typedef PyObject *(*class_fn)(PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames);

typedef struct {
    PyObject_HEAD
    PyTypeObject *cls;
    int which; /* its index in class_fns */
    vectorcallfunc vectorcall;
} ClassCall;

static PyObject *call_get(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
static PyObject *call_create(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
static PyObject *call_filter(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);

/* The calls, and each as a function taking the class first (a ClassCall's __func__). */
static PyMethodDef class_fn_defs[] = {
    {"get", (PyCFunction)(void (*)(void))call_get, METH_FASTCALL | METH_KEYWORDS,
     "get(cls, **lookups)"},
    {"create", (PyCFunction)(void (*)(void))call_create, METH_FASTCALL | METH_KEYWORDS,
     "create(cls, **values)"},
    {"filter", (PyCFunction)(void (*)(void))call_filter, METH_FASTCALL | METH_KEYWORDS,
     "filter(cls, *q, **terms)"},
};
static const class_fn class_fns[] = {object_get_cm, object_create_cm, object_filter_cm};
static PyObject *class_fn_objs[3];

static PyObject *call_first(int which, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    if (nargs < 1 || !PyType_Check(args[0]) ||
        !PyType_IsSubtype((PyTypeObject *)args[0], &ObjectType)) {
        PyErr_Format(PyExc_TypeError, "%s() takes a model class first",
                     class_fn_defs[which].ml_name);
        return NULL;
    }
    return class_fns[which]((PyTypeObject *)args[0], args + 1, nargs - 1, kwnames);
}

static PyObject *call_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    (void)self;
    return call_first(0, args, nargs, kwnames);
}

static PyObject *call_create(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    (void)self;
    return call_first(1, args, nargs, kwnames);
}

static PyObject *call_filter(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    (void)self;
    return call_first(2, args, nargs, kwnames);
}

static PyObject *classcall_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                      PyObject *kwnames)
{
    ClassCall *c = (ClassCall *)self;
    if (!c->cls) { /* cleared by the collector */
        PyErr_SetString(PyExc_RuntimeError, "a relstore class call without its class");
        return NULL;
    }
    return class_fns[c->which](c->cls, args, PyVectorcall_NARGS(nargsf), kwnames);
}

static PyTypeObject ClassCallType;

static PyObject *classcall_make(PyTypeObject *cls, int which)
{
    ClassCall *c = PyObject_GC_New(ClassCall, &ClassCallType);
    if (!c)
        return NULL;
    c->cls = (PyTypeObject *)Py_NewRef(cls);
    c->which = which;
    c->vectorcall = classcall_vectorcall;
    PyObject_GC_Track(c);
    return (PyObject *)c;
}

/* ClassCall(cls, name): CLS's NAME ("get", "create" or "filter"). */
static PyObject *classcall_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)type;
    static char *kwlist[] = {"cls", "name", NULL};
    PyObject *cls;
    const char *name;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!s", kwlist, &PyType_Type, &cls, &name))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)cls, &ObjectType)) {
        PyErr_SetString(PyExc_TypeError, "ClassCall: the class is not a relstore model");
        return NULL;
    }
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, class_fn_defs[i].ml_name))
            return classcall_make((PyTypeObject *)cls, i);
    PyErr_Format(PyExc_ValueError, "ClassCall: no class call %s", name);
    return NULL;
}

/* Found through TYPE (a subclass of its own class), the call of TYPE: the one kept with
 * TYPE's bound model, else a new one (a class the store does not hold). */
static PyObject *classcall_get(PyObject *self, PyObject *obj, PyObject *type)
{
    ClassCall *c = (ClassCall *)self;
    if (!type && obj)
        type = (PyObject *)Py_TYPE(obj);
    if (!type || !c->cls || type == (PyObject *)c->cls || !PyType_Check(type) ||
        !PyType_IsSubtype((PyTypeObject *)type, c->cls))
        return Py_NewRef(self);
    bound *b = bound_of((PyTypeObject *)type);
    if (b && b->calls[c->which])
        return Py_NewRef(b->calls[c->which]);
    /* Making it may run the collector, and code of its may close the store (freeing B) or
     * ask for the same call: the bound model is looked up again afterwards. */
    PyObject *made = classcall_make((PyTypeObject *)type, c->which);
    if (!made || !(b = bound_of((PyTypeObject *)type)))
        return made;
    if (b->calls[c->which])
        Py_SETREF(made, Py_NewRef(b->calls[c->which]));
    else
        b->calls[c->which] = Py_NewRef(made);
    return made;
}

static void classcall_dealloc(ClassCall *c)
{
    PyObject_GC_UnTrack(c);
    Py_CLEAR(c->cls);
    PyObject_GC_Del(c);
}

static int classcall_traverse(ClassCall *c, visitproc visit, void *arg)
{
    Py_VISIT(c->cls);
    return 0;
}

static int classcall_clear(ClassCall *c)
{
    Py_CLEAR(c->cls);
    return 0;
}

static PyObject *classcall_repr(ClassCall *c)
{
    return PyUnicode_FromFormat("<relstore class call %s.%s>",
                                c->cls ? c->cls->tp_name : "?", class_fn_defs[c->which].ml_name);
}

static PyObject *classcall_self(ClassCall *c, void *closure)
{
    (void)closure;
    return c->cls ? Py_NewRef(c->cls) : Py_NewRef(Py_None);
}

static PyObject *classcall_func(ClassCall *c, void *closure)
{
    (void)closure;
    return Py_NewRef(class_fn_objs[c->which]);
}

static PyObject *classcall_name(ClassCall *c, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(class_fn_defs[c->which].ml_name);
}

static PyObject *classcall_qualname(ClassCall *c, void *closure)
{
    (void)closure;
    return PyUnicode_FromFormat("%s.%s", c->cls ? c->cls->tp_name : "?",
                                class_fn_defs[c->which].ml_name);
}

static PyObject *classcall_doc(ClassCall *c, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(class_fn_defs[c->which].ml_doc);
}

static PyGetSetDef classcall_getset[] = {
    {"__self__", (getter)classcall_self, NULL, "the class", NULL},
    {"__func__", (getter)classcall_func, NULL, "the call, taking the class first", NULL},
    {"__name__", (getter)classcall_name, NULL, NULL, NULL},
    {"__qualname__", (getter)classcall_qualname, NULL, NULL, NULL},
    {"__doc__", (getter)classcall_doc, NULL, NULL, NULL},
    {NULL},
};

static PyTypeObject ClassCallType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relstore._core.ClassCall",
    .tp_basicsize = sizeof(ClassCall),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "a model class's get, create or filter, bound to the class once",
    .tp_new = classcall_new,
    .tp_dealloc = (destructor)classcall_dealloc,
    .tp_traverse = (traverseproc)classcall_traverse,
    .tp_clear = (inquiry)classcall_clear,
    .tp_repr = (reprfunc)classcall_repr,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(ClassCall, vectorcall),
    .tp_descr_get = classcall_get,
    .tp_getset = classcall_getset,
};

/* update(obj, values): change OBJ's fields, all or nothing. */
static PyObject *py_update(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o, *kw;
    if (!PyArg_ParseTuple(args, "O!O!", &ObjectType, &o, &PyDict_Type, &kw))
        return NULL;
    store_obj *h = handle((Object *)o);
    values vs;
    if (!h || to_values(kw, &vs, store_obj_model(h), false))
        return NULL;
    int rc;
    LOCKING(rc, store_update(db, h, vs.v));
    values_free(&vs);
    if (rc)
        return store_error(rc);
    Py_RETURN_NONE;
}

/* save(obj): creates an unsaved OBJ from its pending values, or updates a saved one with
 * them; the pending values go. */
static PyObject *py_save(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyObject_TypeCheck(arg, &ObjectType)) {
        PyErr_SetString(PyExc_TypeError, "save() takes a model's object");
        return NULL;
    }
    Object *o = (Object *)arg;
    store_model *m = o->obj ? NULL : bound_model((PyObject *)Py_TYPE(o));
    store_obj *h = o->obj ? handle(o) : NULL;
    if (!m && !h)
        return NULL;
    values vs;
    PyObject *d = pending_dict(o, false);
    if ((!d && PyErr_Occurred()) || to_values(d, &vs, m ? m : store_obj_model(h), false))
        return NULL;
    int rc;
    if (m) {
        store_obj *created;
        LOCKING(rc, store_create(db, m, vs.v, &created));
        if (!rc)
            adopt(o, created);
    } else {
        LOCKING(rc, vs.v[0].name ? store_update(db, h, vs.v) : STORE_OK);
    }
    values_free(&vs);
    if (rc)
        return store_error(rc);
    Py_CLEAR(o->pending);
    Py_RETURN_NONE;
}

/* delete(obj): deletes OBJ (its on_delete rules applied); the wrapper becomes unsaved, keeping
 * its values as pending ones (as a Tortoise object keeps its attributes). */
static PyObject *py_delete(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyObject_TypeCheck(arg, &ObjectType)) {
        PyErr_SetString(PyExc_TypeError, "delete() takes a model's object");
        return NULL;
    }
    Object *o = (Object *)arg;
    store_obj *h = handle(o);
    if (!h)
        return NULL;
    /* the values first: nothing of them is readable after */
    PyObject *kept = PyDict_New();
    store_model *m = store_obj_model(h);
    const store_fld *f;
    for (size_t j = 0; kept && (f = store_field_at(m, j)); j++) {
        PyObject *name = PyUnicode_FromString(store_field_name(f));
        PyObject *v = name ? field_value(h, f) : NULL;
        if (!v || PyDict_SetItem(kept, name, v))
            Py_CLEAR(kept);
        Py_XDECREF(name);
        Py_XDECREF(v);
    }
    if (!kept)
        return NULL;
    int rc;
    LOCKING(rc, store_delete(db, h));
    if (rc) {
        Py_DECREF(kept);
        return store_error(rc);
    }
    PyObject *d = pending_dict(o, false);
    if ((!d && PyErr_Occurred()) || (d && PyDict_Update(kept, d))) {
        Py_DECREF(kept);
        return NULL;
    }
    Py_XSETREF(o->pending, kept);
    o->obj = NULL;
    o->id = 0;
    Py_RETURN_NONE;
}

/* create_many(cls, rows) -> the new objects, all or none. A row is a dict of values, or an
 * unsaved object of CLS (its pending values), which becomes the new object. */
static PyObject *py_create_many(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cls, *rows;
    if (!PyArg_ParseTuple(args, "OO!", &cls, &PyList_Type, &rows))
        return NULL;
    store_model *m = bound_model(cls);
    if (!m)
        return NULL;
    /* Every row's values in one list, each row's ended by {0}: ROWS' sizes are read first
     * (the dicts' items stay alive: the list holds the rows, the rows their values). */
    Py_ssize_t n = PyList_GET_SIZE(rows), total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        bool inst = is_object(row);
        if (inst && (((Object *)row)->obj || Py_TYPE(row) != (PyTypeObject *)cls)) {
            PyErr_Format(PyExc_ValueError, "bulk_create() takes unsaved %s objects",
                         ((PyTypeObject *)cls)->tp_name);
            return NULL;
        }
        if (!inst && !PyDict_Check(row)) {
            PyErr_SetString(PyExc_TypeError, "create_many() takes objects or dicts");
            return NULL;
        }
        PyObject *d = inst ? ((Object *)row)->pending : row;
        if (inst && ((Object *)row)->kwnames)
            total += PyTuple_GET_SIZE(((Object *)row)->kwnames) + 1;
        else
            total += (d ? PyDict_GET_SIZE(d) : 0) + 1;
    }
    values vs;
    if (values_init(&vs, total))
        return NULL;
    const store_value **lists = PyMem_Calloc((size_t)n + 1, sizeof *lists);
    store_obj **objs = PyMem_Calloc((size_t)n + 1, sizeof *objs);
    PyObject *out = NULL;
    if (!lists || !objs) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t at = 0;
    const bound *b = keys_of(m);
    PyObject *same_names = NULL; /* the keyword names whose fields SAME_KEYS holds */
    enum { SAME_MAX = 32 };
    const bound_key *same_keys[SAME_MAX];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i), *key, *val;
        Object *o = is_object(row) ? (Object *)row : NULL;
        lists[i] = &vs.v[at];
        if (o && o->kwnames) { /* the keywords it was made with, as they are */
            Py_ssize_t nk = PyTuple_GET_SIZE(o->kwnames);
            if (o->kwnames != same_names) { /* rows made at one call site share the tuple */
                same_names = NULL;
                for (Py_ssize_t k = 0; k < nk && k < SAME_MAX; k++) {
                    if (!(same_keys[k] = bound_key_find(b, PyTuple_GET_ITEM(o->kwnames, k))))
                        break;
                    if (k == nk - 1)
                        same_names = o->kwnames; /* every name a field's own */
                }
            }
            for (Py_ssize_t k = 0; k < nk; k++)
                if (o->kwnames == same_names
                        ? known_value(&vs, &at, same_keys[k], o->kwvals[k], false)
                        : key_value(&vs, &at, PyTuple_GET_ITEM(o->kwnames, k), o->kwvals[k], m,
                                    false))
                    goto done;
            at++; /* after the row's {0} */
            continue;
        }
        PyObject *d = o ? o->pending : row;
        Py_ssize_t pos = 0, end = at + (d ? PyDict_GET_SIZE(d) : 0);
        while (d && PyDict_Next(d, &pos, &key, &val))
            if (at == end) { /* the dict grew since it was measured */
                PyErr_SetString(PyExc_RuntimeError, "bulk_create(): a row changed meanwhile");
                goto done;
            } else if (key_value(&vs, &at, key, val, m, false)) {
                goto done;
            }
        at = end + 1; /* after the row's {0} (a dict that shrank leaves more zeros) */
    }
    /* Made before the store's objects are: nothing below runs Python code (a finalizer that
     * could close the store) until every given object is adopted. */
    if (!(out = PyList_New(n)))
        goto done;
    int rc;
    LOCKING(rc, store_create_many(db, m, lists, (size_t)n, objs, NULL));
    if (rc) {
        store_error(rc);
        Py_CLEAR(out);
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (is_object(row)) { /* the given object is now the new one */
            adopt((Object *)row, objs[i]);
            PyList_SET_ITEM(out, i, Py_NewRef(row));
        }
    }
    uint64_t e = epoch;
    for (Py_ssize_t i = 0; i < n; i++) { /* a wrapper made may run the collector */
        if (PyList_GET_ITEM(out, i))
            continue;
        PyObject *w = epoch == e ? wrap(objs[i]) : NULL;
        if (!w) {
            if (!PyErr_Occurred())
                PyErr_SetString(errors[0], "the store was closed during bulk_create()");
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, w);
    }
    for (Py_ssize_t i = 0; i < n; i++) { /* last: the values dropped may run Python code */
        PyObject *w = PyList_GET_ITEM(out, i);
        if (is_object(w) && ((Object *)w)->obj == objs[i]) {
            Py_CLEAR(((Object *)w)->pending);
            kw_drop((Object *)w);
        }
    }
done:
    values_free(&vs);
    PyMem_Free(lists);
    PyMem_Free(objs);
    return out;
}

/* ---- Many-to-many changes ------------------------------------------------------------------ */

/* m2m(obj, name, action, other): action "add", "remove" or "clear" (OTHER None). */
static PyObject *py_m2m(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o, *other;
    const char *name, *action;
    if (!PyArg_ParseTuple(args, "O!ssO", &ObjectType, &o, &name, &action, &other))
        return NULL;
    store_obj *h = handle((Object *)o), *far = NULL;
    if (!h)
        return NULL;
    if (strcmp(action, "clear")) {
        if (!PyObject_TypeCheck(other, &ObjectType)) {
            PyErr_SetString(PyExc_TypeError, "a many-to-many relation links model objects");
            return NULL;
        }
        if (!(far = handle((Object *)other)))
            return NULL;
    }
    int rc;
    LOCKING(rc, !strcmp(action, "add")      ? store_m2m_add(db, h, name, far, NULL, NULL)
                : !strcmp(action, "remove") ? store_m2m_remove(db, h, name, far)
                                            : store_m2m_clear(db, h, name));
    if (rc)
        return store_error(rc);
    Py_RETURN_NONE;
}

/* ---- Queries ----------------------------------------------------------------------------- */

/* C, or 0 with the exception of its code: the detail (which names the term) is the one the
 * failed call just recorded. */
static store_cond checked(store_cond c)
{
    if (c < 0) {
        store_error(c);
        return 0;
    }
    return c;
}

/* The operator (as UTF-8) and the argument of the tree T, a tuple (op, argument). 0, or -1
 * with an exception. */
static int tree_parts(PyObject *t, const char **op, PyObject **arg)
{
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2 ||
        !PyUnicode_Check(PyTuple_GET_ITEM(t, 0))) {
        PyErr_SetString(PyExc_TypeError, "a condition is a tuple (op, argument)");
        return -1;
    }
    *arg = PyTuple_GET_ITEM(t, 1);
    return (*op = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t, 0))) ? 0 : -1;
}

/* The condition of the tree T: ("terms", dict) | ("not", t) | ("and", [t...]) | ("or", [t...]).
 * 0 with an exception on any error. */
static store_cond build_cond(store_query *q, store_model *m, PyObject *t)
{
    const char *op;
    PyObject *arg;
    if (tree_parts(t, &op, &arg))
        return 0;
    if (!strcmp(op, "terms")) {
        values vs;
        if (!PyDict_Check(arg) || to_values(arg, &vs, m, true)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "terms are a dict");
            return 0;
        }
        store_cond c = store_cond_terms(q, vs.v);
        values_free(&vs);
        return checked(c);
    }
    if (!strcmp(op, "not")) {
        store_cond c = build_cond(q, m, arg);
        return c == 0 ? 0 : checked(store_cond_not(q, c));
    }
    bool any = !strcmp(op, "or");
    if ((!any && strcmp(op, "and")) || !PyList_Check(arg)) {
        PyErr_Format(PyExc_ValueError, "unknown condition %s", op);
        return 0;
    }
    Py_ssize_t n = PyList_GET_SIZE(arg);
    store_cond *cs = PyMem_Calloc((size_t)n + 1, sizeof *cs);
    if (!cs) {
        PyErr_NoMemory();
        return 0;
    }
    store_cond c = 1;
    for (Py_ssize_t i = 0; i < n && c != 0; i++)
        c = cs[i] = build_cond(q, m, PyList_GET_ITEM(arg, i));
    if (c != 0)
        c = checked(any ? store_cond_any(q, cs, (size_t)n) : store_cond_all(q, cs, (size_t)n));
    PyMem_Free(cs);
    return c;
}

/* Adds the tree T to Q at its root: its terms as the query's own filters or excludes, which
 * the planner may drive from (a parent's children, an index), and an AND's parts each the
 * same way; other trees as one condition. 0, or -1 with an exception. */
static int root_conds(store_query *q, store_model *m, PyObject *t)
{
    const char *op;
    PyObject *arg;
    if (tree_parts(t, &op, &arg))
        return -1;
    int rc;
    if (!strcmp(op, "and") && PyList_Check(arg)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(arg); i++)
            if (root_conds(q, m, PyList_GET_ITEM(arg, i)))
                return -1;
        return 0;
    }
    bool exclude = !strcmp(op, "not") && PyTuple_Check(arg) && PyTuple_GET_SIZE(arg) == 2 &&
                   PyUnicode_Check(PyTuple_GET_ITEM(arg, 0)) &&
                   !PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(arg, 0), "terms");
    if (!strcmp(op, "terms") || exclude) {
        PyObject *terms = exclude ? PyTuple_GET_ITEM(arg, 1) : arg;
        values vs;
        if (!PyDict_Check(terms) || to_values(terms, &vs, m, true)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "terms are a dict");
            return -1;
        }
        rc = exclude ? store_query_exclude(q, vs.v) : store_query_filter(q, vs.v);
        values_free(&vs);
    } else {
        store_cond c = build_cond(q, m, t);
        if (c == 0)
            return -1;
        rc = store_query_where(q, c);
    }
    if (rc) {
        store_error(rc);
        return -1;
    }
    return 0;
}

/* Gives Q, whose conditions are in, the order KEYS (ended by NULL; NULL: none), OFFSET and
 * LIMIT, into *OUT. 0, or -1 with an exception (Q freed). */
static int finish_query(store_query *q, const char *const *keys, Py_ssize_t offset,
                        Py_ssize_t limit, store_query **out)
{
    int rc = keys && keys[0] ? store_query_order_by(q, keys) : STORE_OK;
    if (!rc && (offset || limit))
        rc = store_query_slice(q, (size_t)offset, (size_t)limit);
    if (rc) {
        store_query_free(q);
        store_error(rc);
        return -1;
    }
    *out = q;
    return 0;
}

/* The query of CLS with WHERE (a tuple of trees, all to hold; or None), ORDER (a tuple or
 * list of keys, or None), OFFSET and LIMIT (0: none), in *OUT. 0, or -1 with an exception. */
static int build_query(PyObject *cls, PyObject *where, PyObject *order, Py_ssize_t offset,
                       Py_ssize_t limit, store_query **out)
{
    store_model *m = bound_model(cls);
    if (!m)
        return -1;
    if ((where != Py_None && !PyTuple_Check(where)) ||
        (order != Py_None && !PyTuple_Check(order) && !PyList_Check(order)) || offset < 0 ||
        limit < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "a query: where a tuple, order a tuple or list, offset and limit >= 0");
        return -1;
    }
    store_query *q;
    int rc = store_query_new(db, m, &q);
    if (rc) {
        store_error(rc);
        return -1;
    }
    for (Py_ssize_t i = 0; where != Py_None && i < PyTuple_GET_SIZE(where); i++)
        if (root_conds(q, m, PyTuple_GET_ITEM(where, i))) {
            store_query_free(q);
            return -1;
        }
    Py_ssize_t n = order == Py_None ? 0 : PySequence_Fast_GET_SIZE(order);
    if (n) {
        const char *small[8], **keys = small;
        if ((size_t)n >= sizeof small / sizeof *small &&
            !(keys = PyMem_Calloc((size_t)n + 1, sizeof *keys))) {
            store_query_free(q);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < n && keys; i++) {
            PyObject *k = PySequence_Fast_GET_ITEM(order, i);
            if (!(keys[i] = PyUnicode_Check(k) ? PyUnicode_AsUTF8(k) : NULL)) {
                if (keys != small)
                    PyMem_Free(keys);
                store_query_free(q);
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "order keys are strings");
                return -1;
            }
        }
        keys[n] = NULL;
        rc = finish_query(q, keys, offset, limit, out);
        if (keys != small)
            PyMem_Free(keys);
        return rc;
    }
    return finish_query(q, NULL, offset, limit, out);
}

/* The objects of the result RES as a list of wrappers (RES freed). */
static PyObject *result_list(store_result *res)
{
    PyObject *out = PyList_New((Py_ssize_t)res->count);
    for (size_t i = 0; out && i < res->count; i++) {
        PyObject *w = wrap(res->objs[i]);
        if (!w)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, (Py_ssize_t)i, w);
    }
    store_result_free(res);
    return out;
}

/* ---- Prepared queries: one store query per shape, run with the values bound -------------- */

/*
 * A queryset's conditions, order and slice without their values (its shape) name one store
 * query, built the first time with a parameter in place of each value and kept; each run
 * binds the values. Building a store query (resolving the paths, copying the names and
 * values) costs about what running a typical one does, and a program asks the same few
 * shapes again and again with other values (Book.filter(author=a, title__gt=t) for each a).
 * Only querysets of plain terms are kept (filter(**terms) and exclude(**terms), not Q
 * objects), at most SHAPES_MAX of them: the cache never drops one, so a query can never be
 * freed while another thread runs it. close() frees them all, before the store closes.
 */
enum { SHAPES_MAX = 512, SHAPE_BYTES = 512, SHAPE_PARTS = 8, SHAPE_PARAMS = 32 };

/* A shape is the model, then for each terms dict a mark and each term's name (ended by NUL)
 * and value kind, then a mark and each order key, then a mark and the limit. The marks are
 * bytes no UTF-8 holds, so that no name can run into the next mark: filter(Age=1, FName=x)
 * and filter(Age=1).filter(Name=x) are two shapes. */
#define SHAPE_FILTER "\xff"
#define SHAPE_EXCLUDE "\xfe"
#define SHAPE_ORDER "\xfd"
#define SHAPE_SLICE "\xfc"


static const char *const param_names[SHAPE_PARAMS] = {
    "0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",  "9",  "10",
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21",
    "22", "23", "24", "25", "26", "27", "28", "29", "30", "31"};

static void shape_free(PyObject *capsule)
{
    store_query_free(PyCapsule_GetPointer(capsule, "relstore.query"));
}

/* A query of a queryset, ready to run: kept (OWNED false) or this run's own. */
typedef struct prepared {
    store_query *q;
    bool owned;
    const store_value *binds; /* NULL: the query holds its values */
    values parts[SHAPE_PARTS]; /* the values of each terms dict, for the binds */
    size_t nparts;
    store_value bind[SHAPE_PARAMS + 1];
} prepared;

static void prepared_free(prepared *p)
{
    for (size_t i = 0; i < p->nparts; i++)
        values_free(&p->parts[i]);
    p->nparts = 0;
    if (p->owned)
        store_query_free(p->q);
    p->q = NULL;
}

/* Appends N bytes at SRC to the shape in BUF (*LEN bytes); false when it does not fit. */
static bool shape_put(char *buf, size_t *len, const void *src, size_t n)
{
    if (*len + n > SHAPE_BYTES)
        return false;
    memcpy(buf + *len, src, n);
    *len += n;
    return true;
}

/* The terms dict of the root tree T when it is ("terms", dict) or ("not", ("terms", dict))
 * (*EXCLUDE then), else NULL. */
static PyObject *plain_terms(PyObject *t, bool *exclude)
{
    *exclude = false;
    if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 2 ||
        !PyUnicode_Check(PyTuple_GET_ITEM(t, 0)))
        return NULL;
    PyObject *op = PyTuple_GET_ITEM(t, 0), *arg = PyTuple_GET_ITEM(t, 1);
    if (op == not_str || !PyUnicode_Compare(op, not_str)) {
        bool twice;
        PyObject *terms = plain_terms(arg, &twice);
        *exclude = true;
        return terms && !twice ? terms : NULL;
    }
    return (op == terms_str || !PyUnicode_Compare(op, terms_str)) && PyDict_CheckExact(arg)
               ? arg
               : NULL;
}

/* Builds the store query of the shape of P's parts, each value a parameter. */
static int build_shape(store_model *m, PyObject *where, const char *const *keys,
                       Py_ssize_t offset, Py_ssize_t limit, prepared *p, store_query **out)
{
    store_query *q = NULL; /* left as it is when store_query_new() fails */
    int rc = store_query_new(db, m, &q);
    size_t k = 0;
    for (size_t i = 0; !rc && i < p->nparts; i++) {
        bool exclude;
        plain_terms(PyTuple_GET_ITEM(where, (Py_ssize_t)i), &exclude);
        store_value terms[SHAPE_PARAMS + 1];
        size_t n = 0;
        for (const store_value *v = p->parts[i].v; v->name; v++, n++, k++)
            terms[n] = (store_value)STORE_V_PARAM(v->name, param_names[k]);
        terms[n] = (store_value){0};
        rc = exclude ? store_query_exclude(q, terms) : store_query_filter(q, terms);
    }
    if (rc) {
        store_query_free(q);
        store_error(rc);
        return -1;
    }
    return finish_query(q, keys, offset, limit, out);
}

/* The query of CLS with WHERE, ORDER, OFFSET and LIMIT (as build_query()) in P: the kept one
 * of its shape, with P->binds, when WHERE holds plain terms only; else a new one. 0, or -1
 * with an exception (P empty). */
static int prepare(PyObject *cls, PyObject *where, PyObject *order, Py_ssize_t offset,
                   Py_ssize_t limit, prepared *p)
{
    p->q = NULL;
    p->owned = true;
    p->binds = NULL;
    p->nparts = 0;
    store_model *m = bound_model(cls);
    if (!m)
        return -1;
    Py_ssize_t nw = where != Py_None && PyTuple_Check(where) ? PyTuple_GET_SIZE(where) : -1;
    Py_ssize_t nk = order != Py_None && PyTuple_Check(order) ? PyTuple_GET_SIZE(order) : -1;
    char buf[SHAPE_BYTES];
    size_t len = 0, k = 0;
    /* A page at an offset is built for its run: each offset would be a shape of its own. */
    bool fits = nw >= 0 && nw <= SHAPE_PARTS && nk >= 0 && nk < 8 && offset == 0 && limit >= 0;
    fits = fits && shape_put(buf, &len, &m, sizeof m);
    for (Py_ssize_t i = 0; fits && i < nw; i++) {
        bool exclude;
        PyObject *terms = plain_terms(PyTuple_GET_ITEM(where, i), &exclude);
        if (!(fits = terms && shape_put(buf, &len, exclude ? SHAPE_EXCLUDE : SHAPE_FILTER, 1)))
            break;
        if (to_values(terms, &p->parts[p->nparts], m, true)) {
            prepared_free(p);
            return -1;
        }
        for (const store_value *v = p->parts[p->nparts++].v; fits && v->name; v++, k++) {
            char kind = (char)v->kind;
            fits = k < SHAPE_PARAMS && shape_put(buf, &len, v->name, strlen(v->name) + 1) &&
                   shape_put(buf, &len, &kind, 1);
            if (fits)
                p->bind[k] = *v, p->bind[k].name = param_names[k];
        }
    }
    const char *keys[8];
    for (Py_ssize_t i = 0; fits && i < nk; i++) {
        PyObject *key = PyTuple_GET_ITEM(order, i);
        fits = PyUnicode_Check(key) && (keys[i] = PyUnicode_AsUTF8(key)) &&
               shape_put(buf, &len, SHAPE_ORDER, 1) &&
               shape_put(buf, &len, keys[i], strlen(keys[i]) + 1);
        if (PyErr_Occurred()) {
            prepared_free(p);
            return -1;
        }
    }
    if (fits) {
        keys[nk] = NULL;
        fits = shape_put(buf, &len, SHAPE_SLICE, 1) &&
               shape_put(buf, &len, &limit, sizeof limit);
    }
    if (!fits) { /* not kept: built with its values */
        prepared_free(p);
        return build_query(cls, where, order, offset, limit, &p->q);
    }
    p->bind[k] = (store_value){0};
    p->binds = p->bind;
    PyObject *key = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
    PyObject *kept = key && shapes ? PyDict_GetItemWithError(shapes, key) : NULL;
    if (kept) {
        p->q = PyCapsule_GetPointer(kept, "relstore.query");
        p->owned = false;
        Py_DECREF(key);
        return 0;
    }
    if (!key || PyErr_Occurred() || build_shape(m, where, keys, offset, limit, p, &p->q)) {
        Py_XDECREF(key);
        prepared_free(p);
        return -1;
    }
    /* Kept, when there is room; else this run's own. */
    if (!shapes && !(shapes = PyDict_New()))
        PyErr_Clear();
    if (shapes && PyDict_GET_SIZE(shapes) < SHAPES_MAX) {
        PyObject *cap = PyCapsule_New(p->q, "relstore.query", shape_free);
        if (cap && !PyDict_SetItem(shapes, key, cap))
            p->owned = false;
        else if (cap) /* the capsule must not free the query: this run does */
            PyCapsule_SetDestructor(cap, NULL);
        Py_XDECREF(cap);
        PyErr_Clear(); /* out of memory for the cache: the query still runs */
    }
    Py_DECREF(key);
    return 0;
}

/* query(cls, where, order, offset, limit, action, values):
 *   "find" -> list, "count" -> int, "exists" -> bool, "first" -> object or None,
 *   "get" -> object (DoesNotExist, MultipleObjectsReturned), "update" -> int (VALUES a dict),
 *   "delete" -> int. WHERE is a tuple of condition trees, all to hold (see root_conds()). */
static PyObject *py_query(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cls, *where, *order, *vals = Py_None;
    Py_ssize_t offset, limit;
    const char *action;
    if (!PyArg_ParseTuple(args, "OOOnns|O", &cls, &where, &order, &offset, &limit, &action,
                          &vals))
        return NULL;
    prepared p;
    if (prepare(cls, where, order, offset, limit, &p))
        return NULL;
    store_query *q = p.q;
    const store_value *binds = p.binds;
    PyObject *out = NULL;
    int rc = STORE_OK;
    if (!strcmp(action, "find")) {
        store_result res;
        LOCKING(rc, store_query_find(q, binds, &res));
        if (!rc)
            out = result_list(&res);
    } else if (!strcmp(action, "count")) {
        size_t n;
        LOCKING(rc, store_query_count(q, binds, &n));
        if (!rc)
            out = PyLong_FromSize_t(n);
    } else if (!strcmp(action, "exists")) {
        bool yes;
        LOCKING(rc, store_query_exists(q, binds, &yes));
        if (!rc)
            out = PyBool_FromLong(yes);
    } else if (!strcmp(action, "first") || !strcmp(action, "get")) {
        store_obj *obj;
        bool first = action[0] == 'f';
        LOCKING(rc, first ? store_query_first(q, binds, &obj) : store_query_get(q, binds, &obj));
        if (rc == STORE_ENOTFOUND && first) {
            rc = STORE_OK;
            obj = NULL;
        }
        if (!rc)
            out = wrap(obj);
    } else if (!strcmp(action, "update")) {
        values vs;
        size_t n = 0;
        if (PyDict_Check(vals) && !to_values(vals, &vs, bound_model(cls), false)) {
            LOCKING(rc, store_query_update(q, binds, vs.v, &n));
            values_free(&vs);
            if (!rc)
                out = PyLong_FromSize_t(n);
        } else if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "update takes a dict of values");
        }
    } else if (!strcmp(action, "delete")) {
        size_t n = 0;
        LOCKING(rc, store_query_delete(q, binds, &n));
        if (!rc)
            out = PyLong_FromSize_t(n);
    } else {
        PyErr_Format(PyExc_ValueError, "unknown query action %s", action);
    }
    if (rc)
        store_error(rc);
    prepared_free(&p);
    if (rc)
        Py_CLEAR(out);
    return out;
}

/* ---- Querysets: the building calls, and the run an await makes ------------------------------ */

/* The state of a queryset (the Python QuerySet subclasses this type): which model, the
 * conditions, the order and the slice. Immutable: each building call makes a new one, sharing
 * the tuples. Building one from Python took a microsecond of frames (three for
 * Book.filter(...).order_by(...).limit(...)) where the query itself runs in about one; here it
 * is a few allocations. */
typedef struct {
    PyObject_HEAD
    PyObject *model; /* the model's class */
    PyObject *where; /* a tuple of condition trees (see root_conds()), all to hold */
    PyObject *order; /* a tuple of keys */
    Py_ssize_t offset, limit;
} Query;


/* A new queryset of TYPE, taking none of the references given. */
static PyObject *query_make(PyTypeObject *type, PyObject *model, PyObject *where,
                            PyObject *order, Py_ssize_t offset, Py_ssize_t limit)
{
    Query *q = (Query *)type->tp_alloc(type, 0);
    if (!q)
        return NULL;
    q->model = Py_NewRef(model);
    q->where = Py_NewRef(where);
    q->order = Py_NewRef(order);
    q->offset = offset;
    q->limit = limit;
    return (PyObject *)q;
}

/* QuerySet(model, where=(), order=(), offset=0, limit=0) */
static PyObject *query_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"model", "where", "order", "offset", "limit", NULL};
    PyObject *model, *where = NULL, *order = NULL;
    Py_ssize_t offset = 0, limit = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O!Onn", kwlist, &model, &PyTuple_Type, &where,
                                     &order, &offset, &limit))
        return NULL;
    if (offset < 0 || limit < 0) {
        PyErr_SetString(PyExc_ValueError, "offset and limit are >= 0");
        return NULL;
    }
    PyObject *keys = order ? PySequence_Tuple(order) : PyTuple_New(0);
    PyObject *none = where ? NULL : PyTuple_New(0);
    PyObject *q = keys && (where || none)
                      ? query_make(type, model, where ? where : none, keys, offset, limit)
                      : NULL;
    Py_XDECREF(keys);
    Py_XDECREF(none);
    return q;
}

static void query_dealloc(Query *q)
{
    PyObject_GC_UnTrack(q);
    Py_CLEAR(q->model);
    Py_CLEAR(q->where);
    Py_CLEAR(q->order);
    Py_TYPE(q)->tp_free(q);
}

static int query_traverse(Query *q, visitproc visit, void *arg)
{
    Py_VISIT(q->model);
    Py_VISIT(q->where);
    Py_VISIT(q->order);
    return 0;
}

static int query_clear(Query *q)
{
    Py_CLEAR(q->model);
    Py_CLEAR(q->where);
    Py_CLEAR(q->order);
    return 0;
}

/* WHERE + PARTS (a tuple, stolen), as a new tuple; NULL with an exception. */
static PyObject *where_plus(PyObject *where, PyObject *parts)
{
    if (!parts)
        return NULL;
    PyObject *w = PySequence_Concat(where, parts);
    Py_DECREF(parts);
    return w;
}

/* The trees of the Q objects ARGS[0 .. N) (each negated when NEGATE) and of the keyword
 * terms (KWNAMES, their values after ARGS), as a tuple: what filter() and exclude() add. */
static PyObject *cond_parts(PyObject *const *args, Py_ssize_t n, PyObject *kwnames, bool negate)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject *parts = PyTuple_New(n + (nkw > 0));
    if (!parts)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyObject_CallMethodNoArgs(args[i], tree_str);
        if (t && negate)
            Py_SETREF(t, PyTuple_Pack(2, not_str, t));
        if (!t) {
            Py_DECREF(parts);
            return NULL;
        }
        PyTuple_SET_ITEM(parts, i, t);
    }
    if (nkw) {
        PyObject *terms = PyDict_New(), *t = NULL;
        for (Py_ssize_t k = 0; terms && k < nkw; k++)
            if (PyDict_SetItem(terms, PyTuple_GET_ITEM(kwnames, k), args[n + k]))
                Py_CLEAR(terms);
        if (terms && (t = PyTuple_Pack(2, terms_str, terms)) && negate)
            Py_SETREF(t, PyTuple_Pack(2, not_str, t));
        Py_XDECREF(terms);
        if (!t) {
            Py_DECREF(parts);
            return NULL;
        }
        PyTuple_SET_ITEM(parts, n, t);
    }
    return parts;
}

static PyObject *query_cond(Query *q, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames, bool negate)
{
    if (!nargs && (!kwnames || !PyTuple_GET_SIZE(kwnames)))
        return query_make(Py_TYPE(q), q->model, q->where, q->order, q->offset, q->limit);
    PyObject *w = where_plus(q->where, cond_parts(args, nargs, kwnames, negate));
    PyObject *out = w ? query_make(Py_TYPE(q), q->model, w, q->order, q->offset, q->limit) : NULL;
    Py_XDECREF(w);
    return out;
}

/* filter(*q_objects, **terms): the objects that meet them all as well. */
static PyObject *query_filter(Query *q, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    return query_cond(q, args, nargs, kwnames, false);
}

/* exclude(*q_objects, **terms): without the objects that meet any one of them. */
static PyObject *query_exclude(Query *q, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    return query_cond(q, args, nargs, kwnames, true);
}

static PyObject *query_all(Query *q, PyObject *unused)
{
    (void)unused;
    return query_make(Py_TYPE(q), q->model, q->where, q->order, q->offset, q->limit);
}

/* order_by(*keys): "field", "-field", paths, "pk" for "id"; replaces the order. */
static PyObject *query_order_by(Query *q, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *keys = PyTuple_New(nargs);
    for (Py_ssize_t i = 0; keys && i < nargs; i++) {
        PyObject *k = args[i];
        if (!PyUnicode_Check(k)) {
            PyErr_Format(PyExc_TypeError, "order_by() takes field names, not %s",
                         Py_TYPE(k)->tp_name);
            Py_CLEAR(keys);
            break;
        }
        if (!PyUnicode_CompareWithASCIIString(k, "pk"))
            k = Py_NewRef(id_str);
        else if (!PyUnicode_CompareWithASCIIString(k, "-pk"))
            k = PyUnicode_FromString("-id");
        else
            Py_INCREF(k);
        if (!k)
            Py_CLEAR(keys);
        else
            PyTuple_SET_ITEM(keys, i, k);
    }
    PyObject *out = keys ? query_make(Py_TYPE(q), q->model, q->where, keys, q->offset, q->limit)
                         : NULL;
    Py_XDECREF(keys);
    return out;
}

static int slice_arg(PyObject *arg, const char *what, Py_ssize_t *out)
{
    Py_ssize_t n = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    if (n == -1 && PyErr_Occurred())
        return -1;
    if (n < 0) {
        PyErr_Format(params_error ? params_error : PyExc_ValueError, "%s must be >= 0", what);
        return -1;
    }
    *out = n;
    return 0;
}

/* limit(n): at most N objects (0: none at all). */
static PyObject *query_limit(Query *q, PyObject *arg)
{
    Py_ssize_t n;
    if (slice_arg(arg, "limit", &n))
        return NULL;
    if (n > 0)
        return query_make(Py_TYPE(q), q->model, q->where, q->order, q->offset, n);
    /* LIMIT 0: nothing (the store's 0 is no limit): a condition that never holds */
    PyObject *none = PyList_New(0), *t = none ? PyTuple_Pack(2, or_str, none) : NULL;
    Py_XDECREF(none);
    PyObject *w = where_plus(q->where, t ? PyTuple_Pack(1, t) : NULL);
    Py_XDECREF(t);
    PyObject *out = w ? query_make(Py_TYPE(q), q->model, w, q->order, q->offset, 0) : NULL;
    Py_XDECREF(w);
    return out;
}

/* offset(n): skip the first N objects. */
static PyObject *query_offset(Query *q, PyObject *arg)
{
    Py_ssize_t n;
    if (slice_arg(arg, "offset", &n))
        return NULL;
    return query_make(Py_TYPE(q), q->model, q->where, q->order, n, q->limit);
}

/* await queryset: the list of its objects, found now. */
static PyObject *query_await(Query *self)
{
    prepared p;
    if (prepare(self->model, self->where, self->order, self->offset, self->limit, &p))
        return NULL;
    store_result res;
    int rc;
    LOCKING(rc, store_query_find(p.q, p.binds, &res));
    PyObject *out = rc ? store_error(rc) : ready_steal(result_list(&res));
    prepared_free(&p);
    return out;
}

static PyMethodDef query_methods[] = {
    {"filter", (PyCFunction)(void (*)(void))query_filter, METH_FASTCALL | METH_KEYWORDS,
     "filter(*q, **terms): a queryset of the objects that also meet them all"},
    {"exclude", (PyCFunction)(void (*)(void))query_exclude, METH_FASTCALL | METH_KEYWORDS,
     "exclude(*q, **terms): a queryset without the objects that meet any one of them"},
    {"all", (PyCFunction)query_all, METH_NOARGS, "all(): the same queryset"},
    {"order_by", (PyCFunction)(void (*)(void))query_order_by, METH_FASTCALL,
     "order_by(*keys): the same objects in the order of KEYS (\"-key\": descending)"},
    {"limit", (PyCFunction)query_limit, METH_O, "limit(n): at most N objects"},
    {"offset", (PyCFunction)query_offset, METH_O, "offset(n): without the first N objects"},
    {NULL},
};

static PyMemberDef query_members[] = {
    {"model", T_OBJECT, offsetof(Query, model), READONLY, "the model's class"},
    {"_where", T_OBJECT, offsetof(Query, where), READONLY, "the condition trees, all to hold"},
    {"_order", T_OBJECT, offsetof(Query, order), READONLY, "the order's keys"},
    {"_offset", T_PYSSIZET, offsetof(Query, offset), READONLY, "how many to skip"},
    {"_limit", T_PYSSIZET, offsetof(Query, limit), READONLY, "how many at most (0: all)"},
    {NULL},
};

static PyAsyncMethods query_async = {.am_await = (unaryfunc)query_await};

static PyTypeObject QueryType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "relstore._core.Query",
    .tp_basicsize = sizeof(Query),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "a queryset's model, conditions, order and slice (QuerySet is built on it)",
    .tp_new = query_new,
    .tp_dealloc = (destructor)query_dealloc,
    .tp_traverse = (traverseproc)query_traverse,
    .tp_clear = (inquiry)query_clear,
    .tp_methods = query_methods,
    .tp_members = query_members,
    .tp_as_async = &query_async,
};

/* Model.filter(*q, **terms): the class's queryset with those conditions. */
static PyObject *object_filter_cm(PyTypeObject *cls, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    if (!queryset_cls || !PyType_Check(queryset_cls)) {
        PyErr_SetString(PyExc_RuntimeError, "relstore._core.setup() was not called");
        return NULL;
    }
    PyObject *none = PyTuple_New(0); /* the empty tuple: no order */
    PyObject *where = none ? cond_parts(args, nargs, kwnames, false) : NULL;
    PyObject *out = where ? query_make((PyTypeObject *)queryset_cls, (PyObject *)cls, where, none,
                                       0, 0)
                          : NULL;
    Py_XDECREF(where);
    Py_XDECREF(none);
    return out;
}

/* ---- Transactions ------------------------------------------------------------------------- */

static PyObject *py_begin(PyObject *self, PyObject *args)
{
    (void)self;
    int readonly = 0;
    if (!PyArg_ParseTuple(args, "|p", &readonly) || need_open())
        return NULL;
    store_txn *t;
    int rc;
    LOCKING(rc, store_begin(db, readonly ? STORE_TXN_READONLY : 0, &t));
    if (rc)
        return store_error(rc);
    /* the capsule's context is the thread's ident: only that thread may end it */
    PyObject *cap = PyCapsule_New(t, "relstore.txn", NULL);
    if (!cap || PyCapsule_SetContext(cap, (void *)(uintptr_t)PyThread_get_thread_ident())) {
        Py_XDECREF(cap);
        store_rollback(t);
        return NULL;
    }
    txn_thread = PyThread_get_thread_ident();
    txn_depth++;
    return cap;
}

static PyObject *py_end(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cap;
    int commit;
    if (!PyArg_ParseTuple(args, "O!p", &PyCapsule_Type, &cap, &commit))
        return NULL;
    store_txn *t = PyCapsule_GetPointer(cap, "relstore.txn");
    if (!t)
        return NULL;
    if (need_open())
        return NULL;
    if ((uintptr_t)PyCapsule_GetContext(cap) != PyThread_get_thread_ident()) {
        PyErr_SetString(errors[-STORE_EBUSY], "a transaction ends on the thread that began it");
        return NULL;
    }
    int rc = commit ? store_commit(t) : store_rollback(t);
    if (rc)
        return store_error(rc); /* not the innermost: it stays, to be ended in its turn */
    PyCapsule_SetName(cap, "relstore.txn.ended"); /* never ended twice */
    if (--txn_depth == 0)
        txn_thread = 0;
    Py_RETURN_NONE;
}

/* ---- The module ----------------------------------------------------------------------------- */

static PyMethodDef module_methods[] = {
    {"setup", py_setup, METH_VARARGS,
     "setup(errors, related_cls, m2m_cls, queryset_cls, params_error)"},
    {"open", (PyCFunction)(void (*)(void))py_open, METH_VARARGS | METH_KEYWORDS,
     "open(schema, path=None, readonly=False, nosync=False) -> the model names"},
    {"bind", py_bind, METH_VARARGS, "bind(model, cls, descriptors, slow_create=False)"},
    {"close", py_close, METH_NOARGS, "snapshot and close the store"},
    {"snapshot", py_snapshot, METH_NOARGS, "write the changes to the file"},
    {"check", py_check, METH_NOARGS, "verify the store's invariants"},
    {"is_open", py_is_open, METH_NOARGS, "whether a store is open"},
    {"ready", py_ready, METH_O, "ready(value): value, to await"},
    {"create", py_create, METH_VARARGS, "create(cls, values) -> object"},
    {"create_many", py_create_many, METH_VARARGS, "create_many(cls, rows) -> objects"},
    {"fast_new", py_fast_new, METH_VARARGS, "fast_new(metaclass, cls): cls() made in C"},
    {"get", py_get, METH_VARARGS, "get(cls, id) -> object"},
    {"update", py_update, METH_VARARGS, "update(obj, values)"},
    {"save", py_save, METH_O, "save(obj): create or update from its pending values"},
    {"delete", py_delete, METH_O, "delete(obj)"},
    {"m2m", py_m2m, METH_VARARGS, "m2m(obj, name, action, other)"},
    {"query", py_query, METH_VARARGS,
     "query(cls, where, order, offset, limit, action, values=None)"},
    {"begin", py_begin, METH_VARARGS, "begin(readonly=False) -> transaction"},
    {"end", py_end, METH_VARARGS, "end(transaction, commit)"},
    {NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, .m_name = "relstore._core",
    .m_doc = "relstore's C core: the store, its objects and queries", .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__core(void)
{
    ObjectType.tp_methods = object_methods; /* defined after the type: they use the store */
    if (!(id_str = PyUnicode_InternFromString("id")) ||
        !(pk_str = PyUnicode_InternFromString("pk")) ||
        !(terms_str = PyUnicode_InternFromString("terms")) ||
        !(not_str = PyUnicode_InternFromString("not")) ||
        !(or_str = PyUnicode_InternFromString("or")) ||
        !(tree_str = PyUnicode_InternFromString("_tree")))
        return NULL;
    PyTypeObject *types[] = {&ObjectType, &FieldType, &RelationType, &RelIterType,
                             &ReadyType,  &QueryType, &ClassCallType};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (PyType_Ready(types[i]))
            return NULL;
    PyObject *m = PyModule_Create(&core_module);
    if (!m)
        return NULL;
    for (int i = 0; i < 3; i++)
        if (!(class_fn_objs[i] = PyCFunction_New(&class_fn_defs[i], NULL))) {
            Py_DECREF(m);
            return NULL;
        }
    if (PyModule_AddObjectRef(m, "Object", (PyObject *)&ObjectType) ||
        PyModule_AddObjectRef(m, "Field", (PyObject *)&FieldType) ||
        PyModule_AddObjectRef(m, "Relation", (PyObject *)&RelationType) ||
        PyModule_AddObjectRef(m, "Query", (PyObject *)&QueryType) ||
        PyModule_AddObjectRef(m, "ClassCall", (PyObject *)&ClassCallType) ||
        PyModule_AddIntConstant(m, "REL_REVERSE", REL_REVERSE) ||
        PyModule_AddIntConstant(m, "REL_ONE", REL_ONE) ||
        PyModule_AddIntConstant(m, "REL_M2M", REL_M2M)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
