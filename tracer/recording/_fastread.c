/*
 * tracer.recording._fastread: the reader's fast path for event lines, in C (optional).
 *
 * Why: tracer/recording/reader.py's Builder spends ~4 us an event in Python
 * (split, six int() calls, six array appends, the connection's bookkeeping);
 * orjson.loads of the same line alone costs 0.2 us.  feed_events() takes a
 * list of lines and, for each line of the one shape the recorder writes,
 *     [t,dur,"kind",lane,conn,count]   or   [t,dur,"kind",lane,conn,count,DETAIL]
 * (no spaces, integers of at most 18 digits, DETAIL a printable ASCII string
 * without quotes or backslashes, or an integer), does exactly what
 * Builder._add does: the same checks, the same columns, the same joining of
 * the two ends of a connection, the same connection columns.  At the first
 * line of any other shape, or one that fails a check, it stops and returns
 * its index: Builder.feed() then reads that line the careful way (and raises
 * the error with its line number, or takes it).  So every error message is
 * the Python one, and the Python path is the definition of what a line means;
 * tests/test_fastread.py holds the two to the same model.
 *
 * Lane columns are appended in C buffers per lane and handed to the lane's
 * arrays with one frombytes() each when the call returns (or before it
 * stops), so a Recording is consistent whenever Python code runs.  The
 * connection table's columns (tracer/recording/conntable.py) are written in
 * place through their buffers: the table keeps room for new rows, and when
 * it has none (or an id is far out) the buffers are let go and the table's
 * own Python new() makes room.  compact() squeezes gone rows out, as
 * ConnTable.compact does.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifdef Py_GIL_DISABLED
/* Borrowed references from the builder's dicts are safe only under the GIL; a free-threaded build reads in Python. */
#error "tracer.recording._fastread needs the GIL: not built for a free-threaded Python"
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>

#define FASTREAD_VERSION 6
#define MAX_INT (((int64_t)1) << 62)

/* kind names, in the codes of tracer/recording/events.py (checked at first use against KINDS) */
static const char *KIND_NAMES[] = {"listen", "accept", "submit", "start", "recv", "send", "close",
                                   "thread_start", "thread_exit", "select", "connect", "work"};
#define N_KINDS 12
static const Py_ssize_t KIND_LEN[N_KINDS] = {6, 6, 6, 5, 4, 4, 5, 12, 11, 6, 7, 4};
enum { K_ACCEPT = 1, K_SUBMIT = 2, K_START = 3, K_RECV = 4, K_SEND = 5, K_CLOSE = 6, K_THREAD_START = 7,
       K_CONNECT = 10 };

/* the connection table's columns: conntable.COLUMNS, in its order, then the two dense id maps */
enum { C_ID, C_PEER, C_ACCEPT_T, C_ACCEPT_DUR, C_ACCEPT_LANE, C_SUBMIT_T, C_START_T, C_SERVE_LANE, C_CLOSE_T,
       C_CLOSE_REASON, C_CONNECT_T, C_CONNECT_DUR, C_CLIENT_LANE, C_CLIENT_CLOSE_T, C_CLIENT_CLOSE_REASON,
       C_REQUESTS, C_BYTES_IN, C_BYTES_OUT, C_CLIENT_ID, C_REPLYING, C_GONE, N_COLS, M_POS = N_COLS, M_NEG, N_BUFS };
static const char *COL_NAMES[N_BUFS] = {"id", "peer", "accept_t", "accept_dur", "accept_lane", "submit_t", "start_t",
    "serve_lane", "close_t", "close_reason", "connect_t", "connect_dur", "client_lane", "client_close_t",
    "client_close_reason", "requests", "bytes_in", "bytes_out", "client_id", "replying", "gone", "pos", "neg"};
static const char COL_CODES[N_BUFS + 1] = "iiqqiqqiqiqqiqiqqqibbii";
static const int64_t COL_DEFAULT[N_COLS] = {0, -1, -1, 0, -1, -1, -1, -1, -1, -1, -1, 0, -1, -1, -1, 0, 0, 0, 0, 0, 0};
static const int HALF_COLS[6] = {C_CONNECT_T, C_CONNECT_DUR, C_CLIENT_LANE, C_CLIENT_CLOSE_T, C_CLIENT_CLOSE_REASON,
                                 C_CLIENT_ID};
static PyObject *col_str[N_BUFS];

static PyObject *kind_str[N_KINDS];
static PyObject *array_type; /* array.array */
static PyObject *s_feed, *s_rec, *s_line_no, *s_lanes, *s_trailer, *s_connections, *s_n_events, *s_t_max, *s_side,
    *s_client, *s_t, *s_dur, *s_kind, *s_conn, *s_count, *s_lines, *s_details, *s_sorted, *s_end, *s_frombytes,
    *s_id, *s_pending, *s_unmatched, *s_client_map, *s_spots, *s_index, *s_lane_index, *s_idx, *s_vid, *s_n,
    *s_live, *s_dead, *s_epoch, *s_cap, *s_far, *s_values, *s_ids, *s_items, *s_new, *s_unix, *s_from, *s_dense,
    *s_base, *s_counters, *s_v, *s_append, *s_sync, *s_synced, *s_fast_details;

/* ------------------------------------------------------------------ per-lane staging */
typedef struct {
    char *data;
    Py_ssize_t len, cap; /* bytes */
} Buf;

static int
buf_put(Buf *b, const void *p, Py_ssize_t n)
{
    if (b->len + n > b->cap) {
        Py_ssize_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *d = PyMem_Realloc(b->data, cap);
        if (d == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

typedef struct {
    PyObject *lane;     /* owned */
    PyObject *details;  /* owned: lane.details */
    int client;
    int32_t index;      /* lane.index: its number in the connection columns */
    Py_ssize_t base;    /* events in the lane's arrays when first touched */
    Py_ssize_t n;       /* events staged */
    int64_t last_t, end;
    int unsorted;       /* found out of order here */
    Buf t, dur, kind, conn, count, lines, didx, dvid;
} Stage;

#define LANE_CACHE 1024 /* lane ids below this find their stage by index, not by a dict and a scan */

/* A detail's text -> its str and value id, for one run: close reasons repeat and both ends of a connection name
   one peer, so most details make no new str and look nothing up in the value table's dict.  Ids never change
   once given (Values only grows while a file is read), so an entry stays true for the whole run. */
typedef struct {
    PyObject *s; /* owned; NULL: a free slot */
    uint64_t hash;
    int32_t vid;
} Seen;

typedef struct {
    Seen *slots;
    Py_ssize_t mask, used; /* capacity - 1 (a power of two), entries */
} SeenTable;

/* The details' table of a builder, kept across calls in a capsule (builder._fast_details): every ASCII str of
   the values' items[:known], by its text.  Values only grow while a file is read, so an entry stays true. */
typedef struct {
    SeenTable seen;
    PyObject *items; /* owned: the list it mirrors (another list: the table starts again) */
    Py_ssize_t known;
    /* Builder._pending_connect and _unmatched_accept for the keys that are a detail itself (host:port, nearly all),
       by the detail's value id, while a call runs: the client id / server id, 0 for none (neither is ever 0).
       Handed to the builder's dicts when the call ends (Python reads them); the arrays stay for the next call. */
    int64_t *pend, *unm;
    Py_ssize_t jcap;
    int32_t *jset; /* the value ids given an entry in this call */
    Py_ssize_t njset, jsetcap;
} DetailTable;

/* Builder._client_spots of a call's own client events (id -> [(lane, i)]), handed to the dict when it ends */
typedef struct {
    int64_t client; /* 0: taken (the accept came in this call) */
    Py_ssize_t i;
    int32_t stage, prev; /* prev: the same client's spot before this one, -1 none */
} Spot;

typedef struct {
    Stage *stages;
    int n, cap;
    /* lane id -> its stage's index + 1 (0: not looked up yet); ids up to by_id_hi set.  Emptied after every
       object line (Python's feed may declare a lane again) */
    int32_t by_id[LANE_CACHE];
    int by_id_hi;
    DetailTable *dt; /* the builder's (its capsule holds it) */
    Spot *spot;
    Py_ssize_t nspot, spotcap;
    int64_t *skey; /* client id -> its last spot in this call (sval, -1 none): open addressing, 0 a free slot */
    int32_t *sval;
    Py_ssize_t smask, sused;
    PyObject *values; /* the recording's Values */
    PyObject *builder, *rec, *lanes, *table;
    PyObject *pending, *unmatched, *client_map, *spots, *far, *value_ids, *value_items;
    PyObject *counters; /* rec.counters, once a counter line is read */
    /* the builder's client map (reader.IdMap): its dense array, held while feed_events runs, and its far dict */
    PyObject *cmap_far;
    Py_buffer cbuf;
    int cheld;
    Py_ssize_t clen;
    int64_t cbase; /* IdMap.base: dense[k - cbase] */
    int64_t n_events, t_max;
    /* the connection table, while held */
    int held;
    Py_buffer buf[N_BUFS];
    Py_ssize_t len[N_BUFS];
    Py_ssize_t rows, live, dead, epoch, room;
} Ctx;

#define Q(c, k) ((int64_t *)(c)->buf[k].buf)
#define I(c, k) ((int32_t *)(c)->buf[k].buf)
#define B(c, k) ((int8_t *)(c)->buf[k].buf)

static void
stage_free(Stage *s)
{
    Py_XDECREF(s->lane);
    Py_XDECREF(s->details);
    PyMem_Free(s->t.data);
    PyMem_Free(s->dur.data);
    PyMem_Free(s->kind.data);
    PyMem_Free(s->conn.data);
    PyMem_Free(s->count.data);
    PyMem_Free(s->lines.data);
    PyMem_Free(s->didx.data);
    PyMem_Free(s->dvid.data);
}

static int64_t
as_i64(PyObject *o, int *ok)
{
    long long v = PyLong_AsLongLong(o);
    if (v == -1 && PyErr_Occurred()) {
        *ok = 0;
        return 0;
    }
    return v;
}

static int64_t
attr_i64(PyObject *o, PyObject *name, int *ok)
{
    PyObject *x = PyObject_GetAttr(o, name);
    if (x == NULL) {
        *ok = 0;
        return 0;
    }
    int64_t v = as_i64(x, ok);
    Py_DECREF(x);
    return v;
}

static int
set_attr_i64(PyObject *o, PyObject *name, int64_t v)
{
    PyObject *x = PyLong_FromLongLong(v);
    if (x == NULL)
        return -1;
    int rc = PyObject_SetAttr(o, name, x);
    Py_DECREF(x);
    return rc;
}

/* ------------------------------------------------------------------ the connection table */
static void
table_release(Ctx *c)
{
    if (!c->held)
        return;
    for (int k = 0; k < N_BUFS; k++)
        PyBuffer_Release(&c->buf[k]);
    c->held = 0;
}

/* Write the counts back and let the buffers go (before Python code may grow the arrays, and at the end). */
static int
table_put_back(Ctx *c)
{
    if (!c->held)
        return 0;
    table_release(c);
    if (set_attr_i64(c->table, s_n, c->rows) < 0 || set_attr_i64(c->table, s_live, c->live) < 0 ||
        set_attr_i64(c->table, s_dead, c->dead) < 0 || set_attr_i64(c->table, s_epoch, c->epoch) < 0)
        return -1;
    return 0;
}

/* Hold every column's buffer. 1: held; 0: a column is not an array of its type (a list after a 64-bit overflow):
   the caller leaves this file to Python; -1: error. */
static int
table_hold(Ctx *c)
{
    int ok = 1;
    for (int k = 0; k < N_BUFS; k++) {
        PyObject *col = PyObject_GetAttr(c->table, col_str[k]);
        if (col == NULL) {
            for (int j = 0; j < k; j++)
                PyBuffer_Release(&c->buf[j]);
            return -1;
        }
        int r = PyObject_GetBuffer(col, &c->buf[k], PyBUF_WRITABLE | PyBUF_FORMAT);
        Py_DECREF(col);
        if (r == 0 && (c->buf[k].format == NULL || c->buf[k].format[0] != COL_CODES[k] || c->buf[k].format[1] != 0)) {
            PyBuffer_Release(&c->buf[k]);
            r = -1;
        }
        if (r < 0) {
            PyErr_Clear();
            for (int j = 0; j < k; j++)
                PyBuffer_Release(&c->buf[j]);
            return 0;
        }
        c->len[k] = c->buf[k].len / c->buf[k].itemsize;
    }
    c->held = 1;
    c->rows = attr_i64(c->table, s_n, &ok);
    c->live = attr_i64(c->table, s_live, &ok);
    c->dead = attr_i64(c->table, s_dead, &ok);
    c->epoch = attr_i64(c->table, s_epoch, &ok);
    c->room = c->len[C_ID];
    if (!ok) {
        table_release(c);
        return -1;
    }
    for (int k = 1; k < N_COLS; k++)
        if (c->len[k] < c->room)
            c->room = c->len[k];
    return 1;
}

/* -1: none; -2: error */
static Py_ssize_t
row_of(Ctx *c, int64_t cid)
{
    if (cid > 0 && cid < c->len[M_POS])
        return I(c, M_POS)[cid];
    if (cid < 0 && -cid < c->len[M_NEG])
        return I(c, M_NEG)[-cid];
    if (cid == 0 || PyDict_GET_SIZE(c->far) == 0)
        return -1;
    PyObject *key = PyLong_FromLongLong(cid);
    if (key == NULL)
        return -2;
    PyObject *r = PyDict_GetItemWithError(c->far, key);
    Py_DECREF(key);
    if (r == NULL)
        return PyErr_Occurred() ? -2 : -1;
    return PyLong_AsSsize_t(r);
}

/* point cid at row r (-1: nowhere); 1 done, 0 needs the Python table (a far id), -1 error */
static int
set_slot(Ctx *c, int64_t cid, Py_ssize_t r)
{
    if (cid > 0 && cid < c->len[M_POS]) {
        I(c, M_POS)[cid] = (int32_t)r;
        return 1;
    }
    if (cid < 0 && -cid < c->len[M_NEG]) {
        I(c, M_NEG)[-cid] = (int32_t)r;
        return 1;
    }
    PyObject *key = PyLong_FromLongLong(cid);
    if (key == NULL)
        return -1;
    int rc;
    if (r < 0) {
        rc = PyDict_DelItem(c->far, key);
        if (rc < 0 && PyErr_ExceptionMatches(PyExc_KeyError)) {
            PyErr_Clear();
            rc = 0;
        }
    }
    else {
        PyObject *v = PyLong_FromSsize_t(r);
        rc = v ? PyDict_SetItem(c->far, key, v) : -1;
        Py_XDECREF(v);
    }
    Py_DECREF(key);
    return rc < 0 ? -1 : 1;
}

static void
copy_row(Ctx *c, Py_ssize_t from, Py_ssize_t to, const int *cols, int ncols)
{
    for (int j = 0; j < ncols; j++) {
        int k = cols ? cols[j] : j;
        Py_ssize_t size = c->buf[k].itemsize;
        memcpy((char *)c->buf[k].buf + to * size, (char *)c->buf[k].buf + from * size, size);
    }
}

/* ConnTable.compact, in place (the arrays keep their length) */
static int
compact_rows(Ctx *c)
{
    /* a column at a time, the gone column last (the others read it): a row at a time was a memcpy call a cell */
    const int8_t *gone = B(c, C_GONE);
    Py_ssize_t w = 0;
    _Static_assert(C_GONE == N_COLS - 1, "the gone column is compacted last");
    for (int k = 0; k < N_COLS; k++) {
        char *col = c->buf[k].buf;
        w = 0;
        switch (c->buf[k].itemsize) {
        case 8:
            for (Py_ssize_t r = 0; r < c->rows; r++)
                if (!gone[r])
                    ((int64_t *)col)[w++] = ((int64_t *)col)[r];
            break;
        case 4:
            for (Py_ssize_t r = 0; r < c->rows; r++)
                if (!gone[r])
                    ((int32_t *)col)[w++] = ((int32_t *)col)[r];
            break;
        default:
            for (Py_ssize_t r = 0; r < c->rows; r++)
                if (!gone[r])
                    ((int8_t *)col)[w++] = ((int8_t *)col)[r];
            break;
        }
    }
    c->rows = w;
    c->dead = 0;
    c->epoch++;
    memset(c->buf[M_POS].buf, 0xff, c->buf[M_POS].len);
    memset(c->buf[M_NEG].buf, 0xff, c->buf[M_NEG].len);
    PyDict_Clear(c->far);
    for (Py_ssize_t r = 0; r < w; r++)
        if (set_slot(c, I(c, C_ID)[r], r) < 0)
            return -1;
    return 0;
}

#define CONN_DENSE_SLACK 4096 /* conntable._DENSE_SLACK */

/* ConnTable.new: the row of a new connection cid; -1 on error */
static Py_ssize_t
new_row(Ctx *c, int64_t cid)
{
    if (c->rows == c->room && c->dead && c->dead * 4 >= c->rows && compact_rows(c) < 0)
        return -1;
    int dense = (cid > 0 && cid < c->len[M_POS]) || (cid < 0 && -cid < c->len[M_NEG]);
    /* an id the table's _slot would put in its far dict (not grow a map for): written here too.  A client's
       half of a real recording is one (client processes number theirs from 10,000,000): a call to new() and
       every buffer held again, a connection */
    int64_t mag = cid < 0 ? -cid : cid;
    int far = !dense && mag >= (c->live + 1) * 2 + CONN_DENSE_SLACK;
    if (c->rows < c->room && (dense || far)) {
        Py_ssize_t r = c->rows++;
        for (int k = 0; k < N_COLS; k++) {
            Py_ssize_t size = c->buf[k].itemsize;
            char *p = (char *)c->buf[k].buf + r * size;
            if (size == 8)
                *(int64_t *)p = COL_DEFAULT[k];
            else if (size == 4)
                *(int32_t *)p = (int32_t)COL_DEFAULT[k];
            else
                *(int8_t *)p = (int8_t)COL_DEFAULT[k];
        }
        I(c, C_ID)[r] = (int32_t)cid;
        c->live++;
        if (set_slot(c, cid, r) < 0)
            return -1;
        return r;
    }
    /* no room, or an id beyond the dense maps: the table's own new() grows them */
    if (table_put_back(c) < 0)
        return -1;
    PyObject *key = PyLong_FromLongLong(cid);
    PyObject *got = key ? PyObject_CallMethodOneArg(c->table, s_new, key) : NULL;
    Py_XDECREF(key);
    if (got == NULL)
        return -1;
    Py_ssize_t r = PyLong_AsSsize_t(got);
    Py_DECREF(got);
    if (r < 0 && PyErr_Occurred())
        return -1;
    if (table_hold(c) != 1) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the connection table changed type while read");
        return -1;
    }
    return r;
}

/* ConnTable.drop: the row, -1 none, -2 error */
static Py_ssize_t
drop_row(Ctx *c, int64_t cid)
{
    Py_ssize_t r = row_of(c, cid);
    if (r < 0)
        return r;
    if (set_slot(c, cid, -1) < 0)
        return -2;
    B(c, C_GONE)[r] = 1;
    c->live--;
    c->dead++;
    return r;
}

static uint64_t
seen_hash(const char *p, Py_ssize_t n)
{
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    memcpy(&w, p, (size_t)n);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

static void
seen_free(SeenTable *t)
{
    if (t->slots != NULL)
        for (Py_ssize_t i = 0; i <= t->mask; i++)
            Py_XDECREF(t->slots[i].s);
    PyMem_Free(t->slots);
    t->slots = NULL;
    t->mask = t->used = 0;
}

/* room for one more entry (at most half full) */
static int
seen_room(SeenTable *t)
{
    if (t->slots != NULL && (t->used + 1) * 2 <= t->mask + 1)
        return 0;
    Py_ssize_t cap = t->slots ? (t->mask + 1) * 2 : 256;
    Seen *slots = PyMem_Calloc((size_t)cap, sizeof(Seen));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; t->slots != NULL && i <= t->mask; i++) {
        Seen *e = &t->slots[i];
        if (e->s == NULL)
            continue;
        Py_ssize_t j = (Py_ssize_t)(e->hash & (uint64_t)(cap - 1));
        while (slots[j].s != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    PyMem_Free(t->slots);
    t->slots = slots;
    t->mask = cap - 1;
    return 0;
}

/* The seen table's slot for these bytes: an entry holding them, or the free slot they would go in */
static Seen *
seen_find(SeenTable *t, const char *p, Py_ssize_t n, uint64_t h)
{
    Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)t->mask);
    for (; t->slots[i].s != NULL; i = (i + 1) & t->mask) {
        Seen *e = &t->slots[i];
        if (e->hash == h && PyUnicode_GET_LENGTH(e->s) == n && memcmp(PyUnicode_DATA(e->s), p, (size_t)n) == 0)
            return e;
    }
    return &t->slots[i];
}

/* Put ASCII str s (value id vid) in the table, unless its text is there already */
static int
seen_put(SeenTable *t, PyObject *s, int32_t vid)
{
    if (seen_room(t) < 0)
        return -1;
    const char *p = (const char *)PyUnicode_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    uint64_t h = seen_hash(p, n);
    Seen *e = seen_find(t, p, n, h);
    if (e->s == NULL) {
        Py_INCREF(s);
        e->s = s;
        e->hash = h;
        e->vid = vid;
        t->used++;
    }
    return 0;
}

/* The table takes in the values appended to items since it last looked (by Values.id_of, between two calls) */
static int
details_catch_up(Ctx *c)
{
    DetailTable *d = c->dt;
    for (Py_ssize_t j = d->known; j < PyList_GET_SIZE(c->value_items); j++) {
        PyObject *v = PyList_GET_ITEM(c->value_items, j);
        if (PyUnicode_CheckExact(v) && PyUnicode_IS_ASCII(v) && seen_put(&d->seen, v, (int32_t)j) < 0)
            return -1;
    }
    d->known = PyList_GET_SIZE(c->value_items);
    return 0;
}

/* A new value appended to items: its id, -1 on error */
static int32_t
append_value(Ctx *c, PyObject *v)
{
    Py_ssize_t id = PyList_GET_SIZE(c->value_items);
    if (id > INT32_MAX - 1 || PyList_Append(c->value_items, v) < 0)
        return -1;
    c->dt->known = id + 1;
    return (int32_t)id;
}

/* Values.id_of, for a str or a (non-bool) int: -1 on error.  An ASCII str is the detail table's (its text looked
   up there, a new one appended to items alone: Values.sync numbers it later); anything else is looked up in
   Values.ids, brought up to date first. */
static int32_t
value_id(Ctx *c, PyObject *v)
{
    if (details_catch_up(c) < 0)
        return -1;
    if (PyUnicode_CheckExact(v) && PyUnicode_IS_ASCII(v)) {
        SeenTable *t = &c->dt->seen;
        if (seen_room(t) < 0)
            return -1;
        const char *p = (const char *)PyUnicode_DATA(v);
        Py_ssize_t n = PyUnicode_GET_LENGTH(v);
        uint64_t h = seen_hash(p, n);
        Seen *e = seen_find(t, p, n, h);
        if (e->s != NULL)
            return e->vid;
        int32_t id = append_value(c, v);
        if (id < 0)
            return -1;
        Py_INCREF(v);
        e->s = v;
        e->hash = h;
        e->vid = id;
        t->used++;
        return id;
    }
    PyObject *r = PyObject_CallMethodNoArgs(c->values, s_sync);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    PyObject *got = PyDict_GetItemWithError(c->value_ids, v);
    if (got != NULL)
        return (int32_t)PyLong_AsLong(got);
    if (PyErr_Occurred())
        return -1;
    Py_ssize_t id = PyList_GET_SIZE(c->value_items);
    PyObject *idv = PyLong_FromSsize_t(id);
    if (idv == NULL || append_value(c, v) < 0 || PyDict_SetItem(c->value_ids, v, idv) < 0 ||
        set_attr_i64(c->values, s_synced, id + 1) < 0) {
        Py_XDECREF(idv);
        return -1;
    }
    Py_DECREF(idv);
    return (int32_t)id;
}

/* A string detail's str (a new reference) and its value id (Values.id_of), NULL on error: the detail table (kept
   across calls, on the builder) has every one seen before; a new one is made and appended to the values. */
static PyObject *
detail_str(Ctx *c, const char *p, Py_ssize_t n, int32_t *vid)
{
    SeenTable *t = &c->dt->seen;
    if (PyList_GET_SIZE(c->value_items) != c->dt->known && details_catch_up(c) < 0)
        return NULL;
    if (seen_room(t) < 0)
        return NULL;
    uint64_t h = seen_hash(p, n);
    Seen *e = seen_find(t, p, n, h);
    if (e->s != NULL) {
        *vid = e->vid;
        Py_INCREF(e->s);
        return e->s;
    }
    PyObject *s = PyUnicode_FromStringAndSize(p, n);
    if (s == NULL)
        return NULL;
    int32_t id = append_value(c, s);
    if (id < 0) {
        Py_DECREF(s);
        return NULL;
    }
    Py_INCREF(s);
    e->s = s;
    e->hash = h;
    e->vid = id;
    t->used++;
    *vid = id;
    return s;
}

/* str(detail)'s value id, -1 for None: -2 on error */
static int32_t
reason_id(Ctx *c, PyObject *detail)
{
    if (detail == Py_None)
        return -1;
    PyObject *s = PyObject_Str(detail);
    if (s == NULL)
        return -2;
    int32_t id = value_id(c, s);
    Py_DECREF(s);
    return id < 0 ? -2 : id;
}

/* tracer.addresses.join_key: a new reference (None: nothing to join by), NULL on error */
static PyObject *
join_key(PyObject *detail)
{
    if (!PyUnicode_Check(detail))
        Py_RETURN_NONE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(detail);
    if (PyUnicode_IS_ASCII(detail)) { /* (every detail the fast path reads): an address, host:port, as it is */
        const char *d = (const char *)PyUnicode_DATA(detail);
        if (!(n >= 5 && memcmp(d, "unix:", 5) == 0)) {
            if (memchr(d, ':', (size_t)n) == NULL)
                Py_RETURN_NONE;
            Py_INCREF(detail);
            return detail;
        }
    }
    Py_ssize_t is_unix = PyUnicode_Tailmatch(detail, s_unix, 0, n, -1);
    if (is_unix < 0)
        return NULL;
    if (is_unix) {
        Py_ssize_t at = PyUnicode_Find(detail, s_from, 0, n, -1);
        if (at == -2)
            return NULL;
        if (at < 0 || at + 6 >= n)
            Py_RETURN_NONE;
        PyObject *name = PyUnicode_Substring(detail, at + 6, n);
        if (name == NULL)
            return NULL;
        PyObject *key = PyUnicode_Concat(s_unix, name);
        Py_DECREF(name);
        return key;
    }
    Py_ssize_t colon = PyUnicode_FindChar(detail, ':', 0, n, 1);
    if (colon == -2)
        return NULL;
    if (colon < 0)
        Py_RETURN_NONE;
    Py_INCREF(detail);
    return detail;
}

/* The lane's staging, made on first touch (reads its length, last start, end, side, number). */
static Stage *
stage_for(Ctx *c, PyObject *lane)
{
    for (int i = c->n - 1; i >= 0; i--)
        if (c->stages[i].lane == lane)
            return &c->stages[i];
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        Stage *s = PyMem_Realloc(c->stages, sizeof(Stage) * cap);
        if (s == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        c->stages = s;
        c->cap = cap;
    }
    Stage *s = &c->stages[c->n];
    memset(s, 0, sizeof(Stage));
    PyObject *t = NULL, *side = NULL;
    int ok = 1;
    if ((t = PyObject_GetAttr(lane, s_t)) == NULL || (side = PyObject_GetAttr(lane, s_side)) == NULL)
        goto fail;
    s->base = PySequence_Size(t);
    if (s->base < 0)
        goto fail;
    if (s->base) {
        PyObject *last = PySequence_GetItem(t, s->base - 1);
        if (last == NULL)
            goto fail;
        s->last_t = as_i64(last, &ok);
        Py_DECREF(last);
    }
    s->end = attr_i64(lane, s_end, &ok);
    int64_t index = attr_i64(lane, s_index, &ok);
    if (!ok)
        goto fail;
    if (index < 0) { /* a lane put in rec.lanes by hand: the builder numbers it */
        PyObject *r = PyObject_CallMethodOneArg(c->builder, s_lane_index, lane);
        if (r == NULL)
            goto fail;
        index = as_i64(r, &ok);
        Py_DECREF(r);
        if (!ok)
            goto fail;
    }
    s->index = (int32_t)index;
    s->client = PyObject_RichCompareBool(side, s_client, Py_EQ);
    if (s->client < 0)
        goto fail;
    if ((s->details = PyObject_GetAttr(lane, s_details)) == NULL)
        goto fail;
    Py_INCREF(lane);
    s->lane = lane;
    c->n++;
    Py_DECREF(t);
    Py_DECREF(side);
    return s;
fail:
    Py_XDECREF(t);
    Py_XDECREF(side);
    return NULL;
}

static int append_bytes(PyObject *obj, PyObject *name, Buf *b);

/* Append a staged int64 column to a lane column as narrow as its values allow ('h', 'i', then 'q': Lane._widen):
   the lane's column widened first if a staged value does not fit, the staged values narrowed in place to it. */
static int
append_narrow(PyObject *lane, PyObject *name, Buf *b)
{
    if (!b->len)
        return 0;
    PyObject *arr = PyObject_GetAttr(lane, name);
    if (arr == NULL)
        return -1;
    PyObject *code = PyObject_GetAttrString(arr, "typecode");
    Py_DECREF(arr);
    if (code == NULL)
        return -1;
    int size = PyUnicode_CompareWithASCIIString(code, "h") == 0 ? 2
               : PyUnicode_CompareWithASCIIString(code, "i") == 0 ? 4 : 8;
    Py_DECREF(code);
    if (size == 8)
        return append_bytes(lane, name, b);
    const int64_t *v = (const int64_t *)b->data;
    int64_t lo = 0, hi = 0;
    Py_ssize_t n = b->len / 8;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (v[i] < lo)
            lo = v[i];
        if (v[i] > hi)
            hi = v[i];
    }
    int need = lo >= INT16_MIN && hi <= INT16_MAX ? 2 : lo >= INT32_MIN && hi <= INT32_MAX ? 4 : 8;
    if (need > size) {
        PyObject *r = PyObject_CallMethod(lane, "_widen", "Os", name, need == 4 ? "i" : "q");
        if (r == NULL)
            return -1;
        Py_DECREF(r);
        size = need;
    }
    /* narrowed forward in place: item i's bytes go at size*i, read from 8i >= size*i */
    for (Py_ssize_t i = 0; size < 8 && i < n; i++) { /* (through memcpy: the same bytes as two types) */
        int64_t x;
        memcpy(&x, b->data + 8 * i, 8);
        if (size == 4) {
            int32_t y = (int32_t)x;
            memcpy(b->data + 4 * i, &y, 4);
        }
        else {
            int16_t y = (int16_t)x;
            memcpy(b->data + 2 * i, &y, 2);
        }
    }
    b->len = n * size;
    return append_bytes(lane, name, b);
}

/*
 * Room for an array to grow into.  array.frombytes grows an array by a sixteenth (Modules/arraymodule.c's
 * array_resize), so a lane's columns, appended to once a block, were copied whole at nearly every block: a
 * cost that grows with the square of the file (~5% of a load at 1M events, more at 10M).  grow_array gives an
 * array that already holds items half again the room it needs (realloc copies it: a quarter more was still 2%
 * of the load), so frombytes only copies the new bytes in.  It writes CPython's array object (the struct below,
 * private to arraymodule.c but unchanged since 3.3): array_layout_ok says the struct was checked at import
 * against a real array, and nothing is done without it.  fit() gives the room back once a file is read.
 */
typedef struct {
    PyObject_VAR_HEAD
    char *ob_item;
    Py_ssize_t allocated;
    const void *ob_descr;
    PyObject *weakreflist;
    Py_ssize_t ob_exports;
} ArrayLayout;

static int array_layout_ok;

/* the array's item size, 0 if it is not an exact array (or not to be touched) */
static Py_ssize_t
array_itemsize(PyObject *arr)
{
    if (!array_layout_ok || !Py_IS_TYPE(arr, (PyTypeObject *)array_type) || ((ArrayLayout *)arr)->ob_exports > 0)
        return 0;
    Py_buffer v;
    if (PyObject_GetBuffer(arr, &v, PyBUF_ND) < 0) {
        PyErr_Clear();
        return 0;
    }
    Py_ssize_t size = v.itemsize;
    PyBuffer_Release(&v);
    return size;
}

/* room in ``arr`` for ``nbytes`` more (best effort: on any doubt nothing is done, and frombytes grows it) */
static void
grow_array(PyObject *arr, Py_ssize_t nbytes)
{
    Py_ssize_t size = array_itemsize(arr);
    if (size <= 0 || nbytes % size || Py_SIZE(arr) == 0) /* (a first append: as long as it needs, as before) */
        return;
    ArrayLayout *a = (ArrayLayout *)arr;
    Py_ssize_t need = Py_SIZE(arr) + nbytes / size;
    if (a->allocated >= need || need > PY_SSIZE_T_MAX / size / 2)
        return;
    Py_ssize_t cap = need + (need >> 1);
    char *p = PyMem_Realloc(a->ob_item, (size_t)(cap * size));
    if (p == NULL)
        return;
    a->ob_item = p;
    a->allocated = cap;
}

/* check ArrayLayout against a real array('q', [1, 2, 3]) */
static int
check_array_layout(void)
{
    PyObject *arr = PyObject_CallFunction(array_type, "s[iii]", "q", 1, 2, 3);
    if (arr == NULL)
        return -1;
    Py_buffer v;
    if (PyObject_GetBuffer(arr, &v, PyBUF_ND) < 0) {
        Py_DECREF(arr);
        return -1;
    }
    ArrayLayout *a = (ArrayLayout *)arr;
    int ok = Py_SIZE(arr) == 3 && v.buf == (void *)a->ob_item && v.len == 24 && a->allocated >= 3 &&
             a->ob_exports == 1 && a->weakreflist == NULL && ((int64_t *)a->ob_item)[2] == 3;
    PyBuffer_Release(&v);
    ok = ok && a->ob_exports == 0 && (size_t)Py_TYPE(arr)->tp_basicsize >= sizeof(ArrayLayout);
    Py_DECREF(arr);
    array_layout_ok = ok;
    return 0;
}

PyDoc_STRVAR(fit_doc,
"fit(arr) -> None\n\n"
"Give back the room an array was given to grow into (once a file is read): its memory as long as its items.");

static PyObject *
fit(PyObject *module, PyObject *arr)
{
    Py_ssize_t size = array_itemsize(arr);
    ArrayLayout *a = (ArrayLayout *)arr;
    if (size > 0 && Py_SIZE(arr) > 0 && a->allocated > Py_SIZE(arr)) {
        char *p = PyMem_Realloc(a->ob_item, (size_t)(Py_SIZE(arr) * size));
        if (p != NULL) {
            a->ob_item = p;
            a->allocated = Py_SIZE(arr);
        }
    }
    Py_RETURN_NONE;
}

static int
append_bytes(PyObject *obj, PyObject *name, Buf *b)
{
    if (!b->len)
        return 0;
    PyObject *arr = PyObject_GetAttr(obj, name);
    if (arr == NULL)
        return -1;
    grow_array(arr, b->len);
    PyObject *view = PyMemoryView_FromMemory(b->data, b->len, PyBUF_READ);
    if (view == NULL) {
        Py_DECREF(arr);
        return -1;
    }
    PyObject *r = PyObject_CallMethodOneArg(arr, s_frombytes, view);
    Py_DECREF(view);
    Py_DECREF(arr);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    b->len = 0;
    return 0;
}

static int joins_hand_over(Ctx *c);

/* Hand every staged column to its lane's arrays, the counts to the recording, and the table back. */
static int
flush(Ctx *c, Py_ssize_t line_no)
{
    int rc = joins_hand_over(c);
    for (int i = 0; i < c->n; i++) {
        Stage *s = &c->stages[i];
        if (rc == 0 && (append_bytes(s->lane, s_t, &s->t) < 0 || append_narrow(s->lane, s_dur, &s->dur) < 0 ||
                        append_bytes(s->lane, s_kind, &s->kind) < 0 || append_bytes(s->lane, s_conn, &s->conn) < 0 ||
                        append_narrow(s->lane, s_count, &s->count) < 0 ||
                        append_bytes(s->lane, s_lines, &s->lines) < 0 ||
                        append_bytes(s->details, s_idx, &s->didx) < 0 || append_bytes(s->details, s_vid, &s->dvid) < 0))
            rc = -1;
        if (rc == 0 && set_attr_i64(s->lane, s_end, s->end) < 0)
            rc = -1;
        if (rc == 0 && s->unsorted && PyObject_SetAttr(s->lane, s_sorted, Py_False) < 0)
            rc = -1;
        stage_free(s);
    }
    c->n = 0;
    if (table_put_back(c) < 0)
        rc = -1;
    if (rc == 0 && (set_attr_i64(c->rec, s_n_events, c->n_events) < 0 || set_attr_i64(c->rec, s_t_max, c->t_max) < 0 ||
                    set_attr_i64(c->builder, s_line_no, line_no) < 0))
        rc = -1;
    return rc;
}

/* ------------------------------------------------------------------ parsing one line */
typedef struct {
    int64_t t, dur, lane, conn, count, idetail;
    int kind;
    int has_detail, detail_is_int;
    const char *detail;
    Py_ssize_t detail_len;
} Line;

static int leading_zero; /* set by parse_int: a number written with a leading zero (int() takes it, JSON not) */

/* An integer of 1-18 digits, optionally negative; leading zeros only where ``strict`` is 0.  *end is the line's
   closing ']' (parse_line checked it), so the digits stop there at the latest: no bound to test a digit. */
static const char *
parse_int(const char *p, const char *end, int64_t *out, int strict)
{
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    const char *start = p;
    uint64_t v = 0; /* (wraps past 19 digits, harmlessly: more than 18 are refused) */
    for (unsigned d; (d = (unsigned char)*p - '0') < 10; p++)
        v = v * 10 + d;
    Py_ssize_t n = p - start;
    if (n == 0 || n > 18)
        return NULL;
    if (n > 1 && *start == '0') {
        if (strict)
            return NULL;
        leading_zero = 1;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return p;
}

/* The kind's code, -1 for none: one candidate by the first letter and the length, then compared (a scan of
   the names, a strlen and a memcmp each, was a tenth of a line's parse). */
static int
kind_of(const char *k, Py_ssize_t n)
{
    int i = -1;
    switch (n ? k[0] : 0) {
    case 'a': i = 1; break;                                  /* accept */
    case 'c': i = n == 5 ? 6 : 10; break;                    /* close, connect */
    case 'l': i = 0; break;                                  /* listen */
    case 'r': i = 4; break;                                  /* recv */
    case 's': i = n == 4 ? 5 : n == 5 ? 3 : n == 6 && k[1] == 'u' ? 2 : 9; break; /* send start submit select */
    case 't': i = n == 12 ? 7 : 8; break;                    /* thread_start, thread_exit */
    case 'w': i = 11; break;                                 /* work */
    default: return -1;
    }
    if (KIND_LEN[i] != n)
        return -1;
    for (Py_ssize_t j = 1; j < n; j++) /* (a loop, not memcmp: a call a line for 4-12 bytes) */
        if (KIND_NAMES[i][j] != k[j])
            return -1;
    return i;
}

static int
parse_line(const char *p, Py_ssize_t size, Line *ln)
{
    const char *end = p + size;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    if (end - p < 2 || *p != '[' || end[-1] != ']')
        return 0;
    p++;
    end--; /* at the ']' */
    leading_zero = 0;
    if ((p = parse_int(p, end, &ln->t, 0)) == NULL || p >= end || *p++ != ',')
        return 0;
    if ((p = parse_int(p, end, &ln->dur, 0)) == NULL || p >= end || *p++ != ',')
        return 0;
    if (p >= end || *p++ != '"')
        return 0;
    const char *k = p;
    while (p < end && ((*p >= 'a' && *p <= 'z') || *p == '_'))
        p++;
    Py_ssize_t klen = p - k;
    if (p >= end || *p++ != '"' || p >= end || *p++ != ',')
        return 0;
    if ((ln->kind = kind_of(k, klen)) < 0)
        return 0;
    if ((p = parse_int(p, end, &ln->lane, 0)) == NULL || p >= end || *p++ != ',')
        return 0;
    if ((p = parse_int(p, end, &ln->conn, 0)) == NULL || p >= end)
        return 0;
    if (*p++ != ',')
        return 0;
    if ((p = parse_int(p, end, &ln->count, 0)) == NULL)
        return 0;
    ln->has_detail = ln->detail_is_int = 0;
    if (p == end)
        return 1;
    if (*p++ != ',' || p >= end)
        return 0;
    if (*p == '"') {
        const char *d = ++p;
        while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        if (p + 1 != end || *p != '"')
            return 0;
        ln->has_detail = 1;
        ln->detail = d;
        ln->detail_len = p - d;
        return 1;
    }
    /* an integer detail is not the Python fast path's: json.loads reads that line, and rejects leading zeros */
    if (leading_zero || (p = parse_int(p, end, &ln->idetail, 1)) == NULL || p != end)
        return 0;
    ln->has_detail = ln->detail_is_int = 1;
    return 1;
}


/* ------------------------------------------------------------------ connections (Builder's, in C) */

/* ------------------------------------------------------------------ the client map (reader.IdMap) */
static void
cmap_release(Ctx *c)
{
    if (c->cheld) {
        PyBuffer_Release(&c->cbuf);
        c->cheld = 0;
    }
}

static int
cmap_hold(Ctx *c)
{
    PyObject *d = PyObject_GetAttr(c->client_map, s_dense);
    if (d == NULL)
        return -1;
    int r = PyObject_GetBuffer(d, &c->cbuf, PyBUF_WRITABLE | PyBUF_FORMAT);
    Py_DECREF(d);
    if (r < 0)
        return -1;
    if (c->cbuf.format == NULL || c->cbuf.format[0] != 'i' || c->cbuf.format[1] != 0) {
        PyBuffer_Release(&c->cbuf);
        PyErr_SetString(PyExc_TypeError, "feed_events: the client map is not an array of 'i'");
        return -1;
    }
    c->clen = c->cbuf.len / 4;
    c->cheld = 1;
    int ok = 1;
    c->cbase = attr_i64(c->client_map, s_base, &ok);
    if (!ok) {
        cmap_release(c);
        return -1;
    }
    return 0;
}

/* IdMap.get: 1 found (into *out), 0 none, -1 error */
static int
cmap_get(Ctx *c, int64_t k, int64_t *out)
{
    int64_t j = k - c->cbase;
    if (j >= 0 && j < c->clen) {
        int32_t v = ((int32_t *)c->cbuf.buf)[j];
        if (v) {
            *out = v;
            return 1;
        }
    }
    if (PyDict_GET_SIZE(c->cmap_far) == 0)
        return 0;
    PyObject *key = PyLong_FromLongLong(k);
    if (key == NULL)
        return -1;
    PyObject *v = PyDict_GetItemWithError(c->cmap_far, key);
    Py_DECREF(key);
    if (v == NULL)
        return PyErr_Occurred() ? -1 : 0;
    int ok = 1;
    *out = as_i64(v, &ok);
    return ok ? 1 : -1;
}

/* IdMap[k] = v: in place when the array covers k, else the map's own __setitem__ (it grows the array) */
static int
cmap_set(Ctx *c, int64_t k, int64_t v)
{
    int64_t j = k - c->cbase;
    if (j >= 0 && j < c->clen) {
        ((int32_t *)c->cbuf.buf)[j] = (int32_t)v;
        return 0;
    }
    cmap_release(c);
    PyObject *key = PyLong_FromLongLong(k), *val = PyLong_FromLongLong(v);
    int rc = key && val ? PyObject_SetItem(c->client_map, key, val) : -1;
    Py_XDECREF(key);
    Py_XDECREF(val);
    if (cmap_hold(c) < 0)
        return -1;
    return rc;
}

/* ------------------------------------------------------------------ joins and spots, while a call runs */

/* The value id a detail is its own join key under (tracer.addresses.join_key gives the detail itself: an ASCII
   host:port), -1 when the key is another str ("unix:..." names: the dicts' way) or there is none (no ':') */
static int32_t
key_vid(PyObject *detail, int32_t vid)
{
    if (vid < 0 || !PyUnicode_CheckExact(detail) || !PyUnicode_IS_ASCII(detail))
        return -1;
    const char *d = (const char *)PyUnicode_DATA(detail);
    Py_ssize_t n = PyUnicode_GET_LENGTH(detail);
    if ((n >= 5 && memcmp(d, "unix:", 5) == 0) || memchr(d, ':', (size_t)n) == NULL)
        return -1;
    return vid;
}

/* pop the key's entry of pending (which 0) or unmatched (1): 1 found (into *out), 0 none, -1 error.  kvid >= 0:
   the key is detail jk of that value id, looked up in this call's array first (a key is in one place only) */
static int
join_pop(Ctx *c, int which, PyObject *jk, int32_t kvid, int64_t *out)
{
    DetailTable *d = c->dt;
    if (kvid >= 0 && kvid < d->jcap) {
        int64_t *a = which ? d->unm : d->pend;
        if (a[kvid]) {
            *out = a[kvid];
            a[kvid] = 0;
            return 1;
        }
    }
    PyObject *dict = which ? c->unmatched : c->pending;
    if (PyDict_GET_SIZE(dict) == 0)
        return 0;
    PyObject *v = PyDict_GetItemWithError(dict, jk);
    if (v == NULL)
        return PyErr_Occurred() ? -1 : 0;
    int ok = 1;
    *out = as_i64(v, &ok);
    if (!ok || PyDict_DelItem(dict, jk) < 0)
        return -1;
    return 1;
}

/* pending (which 0) or unmatched (1) [jk] = v */
static int
join_set(Ctx *c, int which, PyObject *jk, int32_t kvid, int64_t v)
{
    PyObject *dict = which ? c->unmatched : c->pending;
    if (kvid < 0) {
        PyObject *x = PyLong_FromLongLong(v);
        int rc = x ? PyDict_SetItem(dict, jk, x) : -1;
        Py_XDECREF(x);
        return rc;
    }
    if (PyDict_GET_SIZE(dict) && PyDict_DelItem(dict, jk) < 0) { /* (an older entry of the key: this one wins) */
        if (!PyErr_ExceptionMatches(PyExc_KeyError))
            return -1;
        PyErr_Clear();
    }
    DetailTable *d = c->dt;
    if (kvid >= d->jcap) {
        Py_ssize_t cap = d->jcap ? d->jcap : 1024;
        while (cap <= kvid)
            cap *= 2;
        int64_t *p = PyMem_Realloc(d->pend, sizeof(int64_t) * (size_t)cap);
        if (p != NULL)
            d->pend = p;
        int64_t *u = p ? PyMem_Realloc(d->unm, sizeof(int64_t) * (size_t)cap) : NULL;
        if (u == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        d->unm = u;
        memset(d->pend + d->jcap, 0, sizeof(int64_t) * (size_t)(cap - d->jcap));
        memset(d->unm + d->jcap, 0, sizeof(int64_t) * (size_t)(cap - d->jcap));
        d->jcap = cap;
    }
    if (d->njset == d->jsetcap) {
        Py_ssize_t cap = d->jsetcap ? d->jsetcap * 2 : 1024;
        int32_t *p = PyMem_Realloc(d->jset, sizeof(int32_t) * (size_t)cap);
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        d->jset = p;
        d->jsetcap = cap;
    }
    d->jset[d->njset++] = kvid;
    (which ? d->unm : d->pend)[kvid] = v;
    return 0;
}

static Py_ssize_t
spot_slot(Ctx *c, int64_t client)
{
    uint64_t h = (uint64_t)client * 0x9E3779B97F4A7C15ull;
    Py_ssize_t i = (Py_ssize_t)((h ^ (h >> 29)) & (uint64_t)c->smask);
    while (c->skey[i] != 0 && c->skey[i] != client)
        i = (i + 1) & c->smask;
    return i;
}

/* Builder._client_spots.setdefault(client, []).append((lane, i)), for stage k: in this call's table */
static int
spot_add(Ctx *c, int64_t client, int32_t k, Py_ssize_t i)
{
    if ((c->sused + 1) * 2 > c->smask + 1) {
        Py_ssize_t cap = c->skey ? (c->smask + 1) * 2 : 1024;
        int64_t *keys = PyMem_Calloc((size_t)cap, sizeof(int64_t));
        int32_t *vals = keys ? PyMem_Malloc(sizeof(int32_t) * (size_t)cap) : NULL;
        if (vals == NULL) {
            PyMem_Free(keys);
            PyErr_NoMemory();
            return -1;
        }
        int64_t *old_keys = c->skey;
        int32_t *old_vals = c->sval;
        Py_ssize_t old_cap = c->skey ? c->smask + 1 : 0;
        c->skey = keys;
        c->sval = vals;
        c->smask = cap - 1;
        for (Py_ssize_t j = 0; j < old_cap; j++)
            if (old_keys[j]) {
                Py_ssize_t at = spot_slot(c, old_keys[j]);
                c->skey[at] = old_keys[j];
                c->sval[at] = old_vals[j];
            }
        PyMem_Free(old_keys);
        PyMem_Free(old_vals);
    }
    if (c->nspot == c->spotcap) {
        Py_ssize_t cap = c->spotcap ? c->spotcap * 2 : 1024;
        Spot *p = PyMem_Realloc(c->spot, sizeof(Spot) * (size_t)cap);
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        c->spot = p;
        c->spotcap = cap;
    }
    Py_ssize_t at = spot_slot(c, client);
    if (c->skey[at] == 0) {
        c->skey[at] = client;
        c->sval[at] = -1;
        c->sused++;
    }
    Spot *sp = &c->spot[c->nspot];
    sp->client = client;
    sp->i = i;
    sp->stage = k;
    sp->prev = c->sval[at];
    c->sval[at] = (int32_t)c->nspot++;
    return 0;
}

/* Hand this call's joins and spots to the builder's dicts (before the stages go: a spot names its lane) */
static int
joins_hand_over(Ctx *c)
{
    DetailTable *d = c->dt;
    int rc = 0;
    for (Py_ssize_t j = 0; d != NULL && j < d->njset; j++) {
        int32_t vid = d->jset[j];
        for (int which = 0; which < 2; which++) {
            int64_t *a = which ? d->unm : d->pend;
            if (!a[vid])
                continue;
            PyObject *x = PyLong_FromLongLong(a[vid]);
            a[vid] = 0;
            if (rc == 0 && (x == NULL || vid >= PyList_GET_SIZE(c->value_items) ||
                            PyDict_SetItem(which ? c->unmatched : c->pending, PyList_GET_ITEM(c->value_items, vid), x) < 0))
                rc = -1;
            Py_XDECREF(x);
        }
    }
    if (d != NULL)
        d->njset = 0;
    for (Py_ssize_t j = 0; rc == 0 && j < c->nspot; j++) {
        Spot *sp = &c->spot[j];
        if (!sp->client)
            continue;
        PyObject *key = PyLong_FromLongLong(sp->client), *list = NULL;
        if (key == NULL || ((list = PyDict_GetItemWithError(c->spots, key)) == NULL &&
                            (PyErr_Occurred() || (list = PyList_New(0)) == NULL ||
                             PyDict_SetItem(c->spots, key, list) < 0 || (Py_DECREF(list), 0)))) {
            rc = -1;
        }
        PyObject *at = rc == 0 ? PyLong_FromSsize_t(sp->i) : NULL;
        PyObject *pair = at ? PyTuple_Pack(2, c->stages[sp->stage].lane, at) : NULL;
        if (rc == 0 && (pair == NULL || PyList_Append(list, pair) < 0))
            rc = -1;
        Py_XDECREF(at);
        Py_XDECREF(pair);
        Py_XDECREF(key);
    }
    c->nspot = 0;
    if (c->skey != NULL) {
        memset(c->skey, 0, sizeof(int64_t) * (size_t)(c->smask + 1));
        c->sused = 0;
    }
    return rc;
}

/* Builder._client_conn: the id a client-side event is stored under (into *out); -1 on error */
static int
client_conn(Ctx *c, int64_t client_id, int kind, PyObject *detail, int32_t vid, int64_t *out)
{
    int known = cmap_get(c, client_id, out);
    if (known != 0)
        return known < 0 ? -1 : 0;
    *out = -client_id;
    if (kind != K_CONNECT)
        return 0;
    int32_t kvid = key_vid(detail, vid);
    PyObject *jk = kvid >= 0 ? (Py_INCREF(detail), detail) : join_key(detail);
    if (jk == NULL)
        return -1;
    int rc = 0;
    if (jk != Py_None) {
        int64_t server_id;
        int found = join_pop(c, 1, jk, kvid, &server_id);
        if (found < 0 || (found && cmap_set(c, client_id, server_id) < 0))
            rc = -1;
        else if (found)
            *out = server_id;
        else if (join_set(c, 0, jk, kvid, client_id) < 0)
            rc = -1;
    }
    Py_DECREF(jk);
    return rc;
}

/* lane.conn[i] = server_id, for a spot that may still be staged in this call */
static int
rewrite_conn(Ctx *c, PyObject *lane, Py_ssize_t i, int64_t server_id)
{
    for (int k = 0; k < c->n; k++) {
        Stage *s = &c->stages[k];
        if (s->lane == lane && i >= s->base) {
            int32_t v = (int32_t)server_id;
            memcpy(s->conn.data + (i - s->base) * 4, &v, 4);
            return 0;
        }
    }
    PyObject *arr = PyObject_GetAttr(lane, s_conn);
    if (arr == NULL)
        return -1;
    PyObject *v = PyLong_FromLongLong(server_id);
    int rc = v ? PySequence_SetItem(arr, i, v) : -1;
    Py_XDECREF(v);
    Py_DECREF(arr);
    return rc;
}

/* Builder._match_accept */
static int
match_accept(Ctx *c, int64_t server_id, PyObject *peer, int32_t vid)
{
    int32_t kvid = key_vid(peer, vid);
    PyObject *jk = kvid >= 0 ? (Py_INCREF(peer), peer) : join_key(peer);
    if (jk == NULL)
        return -1;
    if (jk == Py_None) {
        Py_DECREF(jk);
        return 0;
    }
    int rc = -1;
    int64_t client_id;
    PyObject *spots = NULL, *client_key = NULL;
    int found = join_pop(c, 0, jk, kvid, &client_id);
    if (found <= 0) {
        rc = found < 0 ? -1 : join_set(c, 1, jk, kvid, server_id);
        Py_DECREF(jk);
        return rc;
    }
    if (cmap_set(c, client_id, server_id) < 0)
        goto done;
    if (c->skey != NULL) { /* this call's spots of the client */
        Py_ssize_t at = spot_slot(c, client_id);
        if (c->skey[at] == client_id) {
            int32_t v = (int32_t)server_id;
            for (int32_t j = c->sval[at]; j >= 0; j = c->spot[j].prev) {
                Spot *sp = &c->spot[j];
                Stage *st = &c->stages[sp->stage];
                memcpy(st->conn.data + (sp->i - st->base) * 4, &v, 4);
                sp->client = 0;
            }
            c->sval[at] = -1;
        }
    }
    if (PyDict_GET_SIZE(c->spots)) { /* and those of calls before */
        if ((client_key = PyLong_FromLongLong(client_id)) == NULL)
            goto done;
        spots = PyDict_GetItemWithError(c->spots, client_key);
        if (spots != NULL) {
            Py_INCREF(spots);
            if (PyDict_DelItem(c->spots, client_key) < 0)
                goto done;
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(spots); j++) {
                PyObject *spot = PyList_GET_ITEM(spots, j);
                Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(spot, 1));
                if ((i == -1 && PyErr_Occurred()) || rewrite_conn(c, PyTuple_GET_ITEM(spot, 0), i, server_id) < 0)
                    goto done;
            }
        }
        else if (PyErr_Occurred())
            goto done;
    }
    Py_ssize_t half = drop_row(c, -client_id);
    if (half == -2)
        goto done;
    Py_ssize_t r = row_of(c, server_id);
    if (r == -2)
        goto done;
    if (half >= 0 && r >= 0)
        for (int f = 0; f < 6; f++)
            copy_row(c, half, r, &HALF_COLS[f], 1);
    rc = 0;
done:
    Py_DECREF(jk);
    Py_XDECREF(client_key);
    Py_XDECREF(spots);
    return rc;
}

/* Builder._connection */
static int
connection(Ctx *c, Stage *s, int64_t cid, const Line *ln, PyObject *detail, int32_t vid)
{
    Py_ssize_t r = row_of(c, cid);
    if (r == -2)
        return -1;
    if (r < 0 && (r = new_row(c, cid)) < 0)
        return -1;
    int64_t t = ln->t, dur = ln->dur;
    int32_t li = s->index, why;
    if (s->client) {
        if (ln->kind == K_CONNECT) {
            Q(c, C_CONNECT_T)[r] = t;
            Q(c, C_CONNECT_DUR)[r] = dur;
            I(c, C_CLIENT_LANE)[r] = li;
            if (cid < 0)
                I(c, C_CLIENT_ID)[r] = (int32_t)-cid;
        }
        else if (ln->kind == K_CLOSE) {
            if ((why = PyUnicode_CheckExact(detail) ? vid : reason_id(c, detail)) == -2)
                return -1;
            Q(c, C_CLIENT_CLOSE_T)[r] = t;
            I(c, C_CLIENT_CLOSE_REASON)[r] = why;
            if (I(c, C_CLIENT_LANE)[r] < 0)
                I(c, C_CLIENT_LANE)[r] = li;
        }
        return 0;
    }
    switch (ln->kind) {
    case K_ACCEPT:
        Q(c, C_ACCEPT_T)[r] = t;
        Q(c, C_ACCEPT_DUR)[r] = dur;
        I(c, C_ACCEPT_LANE)[r] = li;
        I(c, C_PEER)[r] = PyUnicode_Check(detail) ? vid : -1;
        return match_accept(c, cid, detail, vid);
    case K_SUBMIT:
        Q(c, C_SUBMIT_T)[r] = t;
        break;
    case K_START:
    case K_THREAD_START:
        Q(c, C_START_T)[r] = t;
        I(c, C_SERVE_LANE)[r] = li;
        break;
    case K_RECV:
        if (ln->count > 0) {
            Q(c, C_BYTES_IN)[r] += ln->count; /* add_event checked it fits */
            B(c, C_REPLYING)[r] = 0;
            if (I(c, C_SERVE_LANE)[r] < 0)
                I(c, C_SERVE_LANE)[r] = li;
        }
        break;
    case K_SEND:
        if (ln->count > 0) {
            Q(c, C_BYTES_OUT)[r] += ln->count;
            if (!B(c, C_REPLYING)[r]) { /* a reply is the run of sends after a read */
                Q(c, C_REQUESTS)[r] += 1;
                B(c, C_REPLYING)[r] = 1;
            }
        }
        break;
    case K_CLOSE:
        if ((why = PyUnicode_CheckExact(detail) ? vid : reason_id(c, detail)) == -2)
            return -1;
        Q(c, C_CLOSE_T)[r] = t;
        I(c, C_CLOSE_REASON)[r] = why;
        break;
    default:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------ one event: Builder._add */
/* 1: taken; 0: not this path's (the caller stops there); -1: a Python error */
static int
add_event(Ctx *c, const Line *ln, Py_ssize_t line_no)
{
    if (ln->t < 0 || ln->dur < 0 || ln->t > MAX_INT || ln->dur > MAX_INT)
        return 0;
    if (!(-((int64_t)1 << 31) < ln->conn && ln->conn < ((int64_t)1 << 31)))
        return 0;
    if (!(-MAX_INT < ln->count && ln->count < MAX_INT))
        return 0;
    Stage *s;
    PyObject *lane;
    int cached = 0 <= ln->lane && ln->lane < LANE_CACHE;
    if (cached && c->by_id[ln->lane]) {
        s = &c->stages[c->by_id[ln->lane] - 1];
        lane = s->lane;
    } else {
        PyObject *lane_key = PyLong_FromLongLong(ln->lane);
        if (lane_key == NULL)
            return -1;
        lane = PyDict_GetItemWithError(c->lanes, lane_key); /* borrowed */
        Py_DECREF(lane_key);
        if (lane == NULL)
            return PyErr_Occurred() ? -1 : 0;
        s = stage_for(c, lane);
        if (s == NULL)
            return -1;
        if (cached) {
            c->by_id[ln->lane] = (int32_t)(s - c->stages) + 1;
            if (ln->lane >= c->by_id_hi)
                c->by_id_hi = (int)ln->lane + 1;
        }
    }
    int64_t conn = ln->conn;
    if (s->client && conn < 0)
        return 0; /* the careful path says why */
    if (!s->client && conn && ln->count > 0 && (ln->kind == K_RECV || ln->kind == K_SEND)) {
        Py_ssize_t r = row_of(c, conn);
        if (r == -2)
            return -1;
        int64_t sum;
        if (r >= 0 && __builtin_add_overflow(Q(c, ln->kind == K_RECV ? C_BYTES_IN : C_BYTES_OUT)[r], ln->count, &sum))
            return 0; /* a byte sum past 64 bits: the Python table turns the column into ints */
    }
    PyObject *detail = Py_None;
    int32_t vid = -1; /* the detail's value id (Values.id_of, taken here first as the lane's details take it) */
    Py_INCREF(detail);
    if (ln->has_detail) {
        Py_DECREF(detail);
        if (ln->detail_is_int) {
            detail = PyLong_FromLongLong(ln->idetail);
            if (detail != NULL && (vid = value_id(c, detail)) < 0)
                Py_CLEAR(detail);
        }
        else /* not interned as Builder._event does: the run's table shares one str each */
            detail = detail_str(c, ln->detail, ln->detail_len, &vid);
        if (detail == NULL)
            return -1;
    }
    int rc = -1;
    c->n_events++;
    if (ln->t + ln->dur > c->t_max)
        c->t_max = ln->t + ln->dur;
    if (s->client && conn && client_conn(c, conn, ln->kind, detail, vid, &conn) < 0)
        goto done;
    Py_ssize_t i = s->base + s->n;
    if (i && ln->t < s->last_t)
        s->unsorted = 1;
    s->last_t = ln->t;
    if (ln->t + ln->dur > s->end)
        s->end = ln->t + ln->dur;
    int8_t k8 = (int8_t)ln->kind;
    int32_t c32 = (int32_t)conn, l32 = (int32_t)line_no;
    if (buf_put(&s->t, &ln->t, 8) < 0 || buf_put(&s->dur, &ln->dur, 8) < 0 || buf_put(&s->kind, &k8, 1) < 0 ||
        buf_put(&s->conn, &c32, 4) < 0 || buf_put(&s->count, &ln->count, 8) < 0 || buf_put(&s->lines, &l32, 4) < 0)
        goto done;
    s->n++;
    if (detail != Py_None) {
        int32_t i32 = (int32_t)i;
        if (buf_put(&s->didx, &i32, 4) < 0 || buf_put(&s->dvid, &vid, 4) < 0)
            goto done;
    }
    if (s->client && conn < 0 && spot_add(c, -conn, (int32_t)(s - c->stages), i) < 0)
        goto done; /* (Builder._client_spots, this call's: handed over at its end) */
    if (conn && connection(c, s, conn, ln, detail, vid) < 0)
        goto done;
    rc = 1;
done:
    Py_DECREF(detail);
    return rc;
}

/* ------------------------------------------------------------------ feed_events */

#define GET(dst, obj, name) (((dst) = PyObject_GetAttr((obj), (name))) == NULL)

/* 1 ready, 0 the table cannot be read here (leave the lines to Python), -1 error */
static void
detail_table_free(PyObject *capsule)
{
    DetailTable *d = PyCapsule_GetPointer(capsule, "tracer.recording._fastread.DetailTable");
    if (d == NULL) {
        PyErr_Clear();
        return;
    }
    seen_free(&d->seen);
    Py_XDECREF(d->items);
    PyMem_Free(d->pend);
    PyMem_Free(d->unm);
    PyMem_Free(d->jset);
    PyMem_Free(d);
}

/* the builder's detail table (borrowed: its capsule, on the builder, owns it), made or started again for items */
static DetailTable *
detail_table(PyObject *builder, PyObject *items)
{
    PyObject *cap = PyObject_GetAttr(builder, s_fast_details);
    if (cap == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear();
    }
    DetailTable *d = NULL;
    if (cap != NULL && PyCapsule_IsValid(cap, "tracer.recording._fastread.DetailTable"))
        d = PyCapsule_GetPointer(cap, "tracer.recording._fastread.DetailTable");
    Py_XDECREF(cap); /* (the builder keeps it) */
    if (d == NULL) {
        if ((d = PyMem_Calloc(1, sizeof(DetailTable))) == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        cap = PyCapsule_New(d, "tracer.recording._fastread.DetailTable", detail_table_free);
        if (cap == NULL) {
            PyMem_Free(d);
            return NULL;
        }
        int rc = PyObject_SetAttr(builder, s_fast_details, cap);
        Py_DECREF(cap);
        if (rc < 0)
            return NULL;
    }
    if (d->items != items || d->known > PyList_GET_SIZE(items)) { /* values of another list: start again */
        seen_free(&d->seen);
        Py_INCREF(items);
        Py_XSETREF(d->items, items);
        d->known = 0;
        if (d->pend != NULL) { /* (handed over at every call's end: nothing is lost) */
            memset(d->pend, 0, sizeof(int64_t) * (size_t)d->jcap);
            memset(d->unm, 0, sizeof(int64_t) * (size_t)d->jcap);
        }
        d->njset = 0;
    }
    return d;
}

static int
ctx_open(Ctx *c, PyObject *builder)
{
    memset(c, 0, sizeof(Ctx));
    c->builder = builder;
    int ok = 1;
    PyObject *values = NULL;
    if (GET(c->rec, builder, s_rec) || GET(c->lanes, c->rec, s_lanes) || GET(c->table, c->rec, s_connections) ||
        GET(c->pending, builder, s_pending) || GET(c->unmatched, builder, s_unmatched) ||
        GET(c->client_map, builder, s_client_map) || GET(c->spots, builder, s_spots) ||
        GET(c->cmap_far, c->client_map, s_far) || GET(c->far, c->table, s_far) || GET(values, c->table, s_values) ||
        GET(c->value_ids, values, s_ids) || GET(c->value_items, values, s_items))
        ok = 0;
    c->values = values;
    if (ok && (!PyDict_CheckExact(c->lanes) || !PyDict_CheckExact(c->pending) || !PyDict_CheckExact(c->unmatched) ||
               !PyDict_CheckExact(c->cmap_far) || !PyDict_CheckExact(c->spots) || !PyDict_CheckExact(c->far) ||
               !PyDict_CheckExact(c->value_ids) || !PyList_CheckExact(c->value_items))) {
        PyErr_SetString(PyExc_TypeError, "feed_events: the builder's tables are not plain dicts");
        ok = 0;
    }
    if (ok) {
        c->n_events = attr_i64(c->rec, s_n_events, &ok);
        if (ok)
            c->t_max = attr_i64(c->rec, s_t_max, &ok);
    }
    if (!ok || (c->dt = detail_table(builder, c->value_items)) == NULL || details_catch_up(c) < 0 || cmap_hold(c) < 0)
        return -1;
    return table_hold(c);
}

static void
ctx_close(Ctx *c)
{
    PyMem_Free(c->spot);
    PyMem_Free(c->skey);
    PyMem_Free(c->sval);
    for (int i = 0; i < c->n; i++)
        stage_free(&c->stages[i]);
    PyMem_Free(c->stages);
    table_release(c);
    cmap_release(c);
    Py_XDECREF(c->cmap_far);
    Py_XDECREF(c->rec);
    Py_XDECREF(c->lanes);
    Py_XDECREF(c->table);
    Py_XDECREF(c->pending);
    Py_XDECREF(c->unmatched);
    Py_XDECREF(c->client_map);
    Py_XDECREF(c->spots);
    Py_XDECREF(c->far);
    Py_XDECREF(c->value_ids);
    Py_XDECREF(c->value_items);
    Py_XDECREF(c->values);
    Py_XDECREF(c->counters);
}

/* A counter line of the shape the recorder writes (json.dumps), {"c": "NAME", "t": T, "v": V}, for a counter
   already in rec.counters: its sample appended as Builder._object appends it.  1 taken; 0 any other line, one
   that fails a check or a counter not seen yet (Builder.feed reads it, and says what is wrong); -1 error.
   (Through Builder.feed a counter line cost ~30,000 instructions; a pool recording has one every 25 events.) */
static int
counter_line(Ctx *c, const char *p, Py_ssize_t size)
{
    const char *end = p + size;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    if (end - p < 24 || memcmp(p, "{\"c\": \"", 7) != 0 || end[-1] != '}')
        return 0;
    const char *close = end - 1; /* the '}': parse_int stops there at the latest */
    const char *name = p += 7;
    while (p < close && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
        p++;
    Py_ssize_t name_len = p - name;
    int64_t t, v;
    if (close - p < 8 || memcmp(p, "\", \"t\": ", 8) != 0 || (p = parse_int(p + 8, close, &t, 1)) == NULL ||
        close - p < 7 || memcmp(p, ", \"v\": ", 7) != 0 || (p = parse_int(p + 7, close, &v, 1)) == NULL || p != close)
        return 0;
    if (!(0 <= t && t < MAX_INT) || !(-MAX_INT < v && v < MAX_INT))
        return 0;
    if (c->counters == NULL && (c->counters = PyObject_GetAttr(c->rec, s_counters)) == NULL)
        return -1;
    if (!PyDict_CheckExact(c->counters))
        return 0;
    PyObject *key = PyUnicode_FromStringAndSize(name, name_len);
    if (key == NULL)
        return -1;
    PyObject *counter = PyDict_GetItemWithError(c->counters, key); /* borrowed */
    Py_DECREF(key);
    if (counter == NULL)
        return PyErr_Occurred() ? -1 : 0;
    int rc = -1;
    PyObject *ts = NULL, *vs = NULL, *tv = NULL, *vv = NULL, *r1 = NULL, *r2 = NULL;
    if ((ts = PyObject_GetAttr(counter, s_t)) != NULL && (vs = PyObject_GetAttr(counter, s_v)) != NULL &&
        (tv = PyLong_FromLongLong(t)) != NULL && (vv = PyLong_FromLongLong(v)) != NULL &&
        (r1 = PyObject_CallMethodOneArg(ts, s_append, tv)) != NULL &&
        (r2 = PyObject_CallMethodOneArg(vs, s_append, vv)) != NULL)
        rc = 1;
    Py_XDECREF(ts);
    Py_XDECREF(vs);
    Py_XDECREF(tv);
    Py_XDECREF(vv);
    Py_XDECREF(r1);
    Py_XDECREF(r2);
    return rc;
}

/* Builder.feed(line) for an object line, with the builder's line count in step: 1 go on, 0 a trailer came, -1 error */
static int
feed_object(Ctx *c, PyObject *line, Py_ssize_t *line_no)
{
    if (set_attr_i64(c->builder, s_line_no, *line_no) < 0)
        return -1;
    /* the table's counts in step too (another thread may read the recording while Python runs) */
    if (c->held && (set_attr_i64(c->table, s_n, c->rows) < 0 || set_attr_i64(c->table, s_live, c->live) < 0 ||
                    set_attr_i64(c->table, s_dead, c->dead) < 0 || set_attr_i64(c->table, s_epoch, c->epoch) < 0))
        return -1;
    PyObject *r = PyObject_CallMethodOneArg(c->builder, s_feed, line);
    (*line_no)++; /* feed counts the line first, also one it then rejects */
    memset(c->by_id, 0, sizeof(int32_t) * (size_t)c->by_id_hi); /* a lane declared again is a new object */
    c->by_id_hi = 0;
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    PyObject *trailer = PyObject_GetAttr(c->rec, s_trailer);
    if (trailer == NULL)
        return -1;
    int go = trailer == Py_None;
    Py_DECREF(trailer);
    return go;
}

/*
 * A run of event lines (feed_events, feed_block) starts and ends alike.  run_open reads the builder's line_no
 * and opens the context: RUN_ERROR (an exception set), RUN_NOT_OPENED (nothing for C to do: the context is
 * closed again and the caller hands back where it started), else whether to go on (0: the header is the careful
 * path's, and nothing follows a trailer), the context open.  run_close hands the staged events over all the
 * same when err is set, keeping the error that stopped the run, closes the context and returns whether it failed.
 */
#define RUN_ERROR (-1)
#define RUN_NOT_OPENED (-2)

static int
run_open(Ctx *c, PyObject *builder, Py_ssize_t *line_no)
{
    PyObject *v = PyObject_GetAttr(builder, s_line_no);
    if (v == NULL)
        return RUN_ERROR;
    *line_no = PyLong_AsSsize_t(v);
    Py_DECREF(v);
    if (*line_no == -1 && PyErr_Occurred())
        return RUN_ERROR;
    int opened = ctx_open(c, builder);
    if (opened <= 0) {
        ctx_close(c);
        return opened < 0 ? RUN_ERROR : RUN_NOT_OPENED;
    }
    PyObject *trailer = PyObject_GetAttr(c->rec, s_trailer);
    if (trailer == NULL) {
        ctx_close(c);
        return RUN_ERROR;
    }
    int go = trailer == Py_None && *line_no >= 1;
    Py_DECREF(trailer);
    return go;
}

static int
run_close(Ctx *c, Py_ssize_t line_no, int err)
{
    if (err) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (flush(c, line_no) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, tb);
    }
    else if (flush(c, line_no) < 0)
        err = 1;
    ctx_close(c);
    return err;
}

PyDoc_STRVAR(feed_events_doc,
"feed_events(builder, lines, start) -> int\n\n"
"Take lines[start:] of the recorder's event shape into the builder (as Builder._add would) and return the index\n"
"of the first line it did not take (len(lines) if it took them all): the careful path reads that one.");

static PyObject *
feed_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "feed_events(builder, lines: list, start: int)");
        return NULL;
    }
    PyObject *builder = args[0], *lines = args[1];
    Py_ssize_t start = PyLong_AsSsize_t(args[2]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(lines), i = start;
    Py_ssize_t line_no;
    Ctx c;
    int go = run_open(&c, builder, &line_no);
    if (go == RUN_ERROR)
        return NULL;
    if (go == RUN_NOT_OPENED)
        return PyLong_FromSsize_t(start);
    int err = 0;
    for (; go && i < n; i++) {
        PyObject *item = PyList_GET_ITEM(lines, i);
        Py_ssize_t size;
        const char *text;
        Line ln;
        if (!PyUnicode_Check(item) || !PyUnicode_IS_ASCII(item))
            break;
        text = (const char *)PyUnicode_DATA(item);
        size = PyUnicode_GET_LENGTH(item);
        if (size && text[0] == '{') {
            int r = counter_line(&c, text, size);
            if (r < 0) {
                err = 1;
                break;
            }
            if (r > 0) {
                line_no++;
                continue;
            }
            /* a counter, mark, lane or trailer: Builder.feed reads it, and touches no lane's columns, so what is
               staged here stays staged (handing it over and picking the lanes up again costs ~0.3 ms a time) */
            r = feed_object(&c, item, &line_no);
            if (r < 0) {
                err = 1;
                break;
            }
            if (r == 0) { /* the trailer: what follows is the careful path's */
                i++;
                break;
            }
            continue;
        }
        if (!parse_line(text, size, &ln))
            break;
        int r = add_event(&c, &ln, line_no + 1);
        if (r < 0) {
            err = 1;
            break;
        }
        if (r == 0)
            break;
        line_no++;
    }
    if (run_close(&c, line_no, err))
        return NULL;
    return PyLong_FromSsize_t(i);
}

PyDoc_STRVAR(feed_block_doc,
"feed_block(builder, text, start, stop, limit) -> int\n\n"
"feed_events over the lines of text[start:stop] (each ended by '\\n', stop just after one) without a str a line:\n"
"stops at the first line it does not take, one holding a CR other than one just before its '\\n' (a line\n"
"end to readlines), or one of more than limit characters, and returns where that line starts (stop if none).\n"
"text is a str (ASCII, else nothing is taken) or bytes-like (a line not ASCII is taken only if it is an object\n"
"line of UTF-8 text; limit counts its bytes, and Python reads a longer line, or says it is not UTF-8).");

static PyObject *
feed_block(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "feed_block(builder, text: str | bytes, start, stop, limit)");
        return NULL;
    }
    PyObject *builder = args[0], *text_obj = args[1];
    Py_ssize_t start = PyLong_AsSsize_t(args[2]), stop = PyLong_AsSsize_t(args[3]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred())
        return NULL;
    /* a str (the loader's: ASCII, or the lines' way), or bytes (load's: a line that is not ASCII is decoded when
       it is an object line, else left to Python, which decodes it, or says which line is not UTF-8) */
    int is_str = PyUnicode_Check(text_obj);
    Py_buffer view;
    const char *text;
    Py_ssize_t size;
    if (is_str) {
        text = (const char *)PyUnicode_DATA(text_obj);
        size = PyUnicode_GET_LENGTH(text_obj);
    }
    else {
        if (PyObject_GetBuffer(text_obj, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        text = view.buf;
        size = view.len;
    }
    PyObject *out = NULL;
    if (start < 0 || stop > size || start > stop) {
        PyErr_SetString(PyExc_ValueError, "feed_block: start and stop out of range");
        goto release;
    }
    if ((is_str && !PyUnicode_IS_ASCII(text_obj)) || start == stop) { /* (not ASCII: the lines' way) */
        out = PyLong_FromSsize_t(start);
        goto release;
    }
    Py_ssize_t line_no;
    Ctx c;
    int go = run_open(&c, builder, &line_no);
    if (go == RUN_ERROR)
        goto release;
    if (go == RUN_NOT_OPENED) {
        out = PyLong_FromSsize_t(start);
        goto release;
    }
    int err = 0;
    Py_ssize_t at = start;
    while (go && at < stop) {
        const char *p = text + at;
        const char *nl = memchr(p, '\n', stop - at);
        if (nl == NULL)
            break;
        Py_ssize_t len = nl - p + 1; /* with its '\n', as len(line) */
        Py_ssize_t body = nl - p;
        if (body && p[body - 1] == '\r')
            body--;
        Line ln;
        if (len > limit)
            break;
        /* an event line that parses holds no CR (parse_line takes none before its ']'): no need to look for one */
        if (body && p[0] == '[' && p[body - 1] == ']' && parse_line(p, body, &ln))
            goto event;
        if (memchr(p, '\r', body) != NULL)
            break;
        if (body && p[0] == '{') {
            int r = counter_line(&c, p, body);
            if (r < 0) {
                err = 1;
                break;
            }
            if (r > 0) {
                line_no++;
                at += len;
                continue;
            }
            PyObject *item = is_str ? PyUnicode_Substring(text_obj, at, at + len) : PyUnicode_DecodeUTF8(p, len, NULL);
            if (item == NULL) {
                if (!is_str && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                    PyErr_Clear(); /* not UTF-8: Python's, which says where */
                    break;
                }
                err = 1;
                break;
            }
            r = feed_object(&c, item, &line_no);
            Py_DECREF(item);
            if (r < 0) {
                err = 1;
                break;
            }
            at += len;
            if (r == 0)
                break;
            continue;
        }
        if (!parse_line(p, body, &ln))
            break;
    event:;
        int r = add_event(&c, &ln, line_no + 1);
        if (r < 0) {
            err = 1;
            break;
        }
        if (r == 0)
            break;
        line_no++;
        at += len;
    }
    if (!run_close(&c, line_no, err))
        out = PyLong_FromSsize_t(at);
release:
    if (!is_str)
        PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(compact_doc, "compact(table)\n\nConnTable.compact in C: squeeze the gone rows out, in place.");

static PyObject *
compact(PyObject *module, PyObject *table)
{
    Ctx c;
    memset(&c, 0, sizeof(Ctx));
    c.table = table;
    if ((c.far = PyObject_GetAttr(table, s_far)) == NULL)
        return NULL;
    int r = PyDict_CheckExact(c.far) ? table_hold(&c) : 0;
    if (r == 1 && compact_rows(&c) < 0)
        r = -1;
    if (r == 1 && table_put_back(&c) < 0)
        r = -1;
    table_release(&c);
    Py_DECREF(c.far);
    if (r == 0 && !PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "compact: a column is not an array of its type");
    if (r != 1)
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ Track.extend (tracer/timeline/track.py) */
/*
 * The timeline's index of a lane, taken in as the lane grows: each event's class of time, the prefix sums of
 * each class's time every STRIDE events, the instants' indices, the running maximum of ends every STRIDE events
 * once spans overlap.  Track._extend_py is the definition (and the path without this extension); this does the
 * same per event in C (~1.5 us an event in Python: 10M events took over a minute to index).
 */
#define SHIFT 3
#define STRIDE (1 << SHIFT)
#define N_CLS 128

static PyObject *s_cls, *s_cum, *s_inst, *s_maxend, *s_sums, *s_top, *s_work, *s_life, *s_get, *s_q,
    *s_i, *s_b;

static PyObject *
new_array(PyObject *code)
{
    return PyObject_CallOneArg(array_type, code);
}

/* hold o.name's buffer if it is an array of typecode ``code`` (or of ``code2``, if not 0) */
static int
hold_ro2(PyObject *o, PyObject *name, Py_buffer *b, char code, char code2, Py_ssize_t *n)
{
    PyObject *arr = PyObject_GetAttr(o, name);
    if (arr == NULL)
        return -1;
    int r = PyObject_GetBuffer(arr, b, PyBUF_FORMAT);
    Py_DECREF(arr);
    if (r < 0)
        return -1;
    if (b->format == NULL || (b->format[0] != code && (!code2 || b->format[0] != code2)) || b->format[1] != 0) {
        PyBuffer_Release(b);
        PyErr_SetString(PyExc_TypeError, "track_extend: an array of another type");
        return -1;
    }
    *n = b->len / b->itemsize;
    return 0;
}

static int
hold_ro(PyObject *o, PyObject *name, Py_buffer *b, char code, Py_ssize_t *n)
{
    return hold_ro2(o, name, b, code, 0, n);
}

PyDoc_STRVAR(track_extend_doc,
"track_extend(track, cls_of: bytes, WORK, MARK, IDLE, class_of) -> int\n\n"
"Track.extend in C: take in the events appended since the last call; return how many.");

static PyObject *
track_extend(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyBytes_Check(args[1]) || PyBytes_GET_SIZE(args[1]) != N_CLS) {
        PyErr_SetString(PyExc_TypeError, "track_extend(track, cls_of: bytes[128], WORK, MARK, IDLE, class_of)");
        return NULL;
    }
    PyObject *tr = args[0], *class_of = args[5];
    const unsigned char *cls_of = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    long WORK = PyLong_AsLong(args[2]), MARK = PyLong_AsLong(args[3]), IDLE = PyLong_AsLong(args[4]);
    if (PyErr_Occurred())
        return NULL;
    Py_buffer bt, bd, bk;
    Py_ssize_t nt, nd, nk, nc;
    PyObject *conn = PyObject_GetAttr(tr, s_conn);
    if (conn == NULL)
        return NULL;
    nc = PyObject_Length(conn);
    Py_DECREF(conn);
    if (nc < 0)
        return NULL;
    if (hold_ro(tr, s_t, &bt, 'q', &nt) < 0)
        return NULL;
    if (hold_ro2(tr, s_dur, &bd, 'q', 'i', &nd) < 0) { /* a lane's durations: int32 until one does not fit */
        PyBuffer_Release(&bt);
        return NULL;
    }
    if (hold_ro(tr, s_kind, &bk, 'b', &nk) < 0) {
        PyBuffer_Release(&bt);
        PyBuffer_Release(&bd);
        return NULL;
    }
    const int64_t *t = bt.buf;
    const void *dur_p = bd.buf;
    const int dur_wide = bd.itemsize == 8;
#define DUR(j) (dur_wide ? ((const int64_t *)dur_p)[j] : (int64_t)((const int32_t *)dur_p)[j])
    const int8_t *kind = bk.buf;
    Py_ssize_t stop = nt;
    if (nd < stop) stop = nd;
    if (nk < stop) stop = nk;
    if (nc < stop) stop = nc;
    PyObject *result = NULL, *cum = NULL, *inst = NULL, *sums = NULL, *me = NULL, *details = NULL, *work = NULL;
    Buf cls_buf = {0}, me_buf = {0}, blocks[N_CLS], insts[N_CLS];
    memset(blocks, 0, sizeof(blocks));
    memset(insts, 0, sizeof(insts));
    int64_t sum[N_CLS];
    int has[N_CLS], order[N_CLS], n_order = 0, new_me = 0;
    memset(has, 0, sizeof(has));
    int ok = 1;
    Py_ssize_t start = (Py_ssize_t)attr_i64(tr, s_n, &ok);
    int64_t top = attr_i64(tr, s_top, &ok);
    if (!ok)
        goto done;
    if (stop <= start) {
        result = PyLong_FromLong(0);
        goto done;
    }
    if ((cum = PyObject_GetAttr(tr, s_cum)) == NULL || (inst = PyObject_GetAttr(tr, s_inst)) == NULL ||
        (sums = PyObject_GetAttr(tr, s_sums)) == NULL || (me = PyObject_GetAttr(tr, s_maxend)) == NULL ||
        (details = PyObject_GetAttr(tr, s_details)) == NULL || (work = PyObject_GetAttr(tr, s_work)) == NULL)
        goto done;
    if (!PyDict_CheckExact(cum) || !PyDict_CheckExact(inst) || !PyDict_CheckExact(sums)) {
        PyErr_SetString(PyExc_TypeError, "track_extend: the track's tables are not plain dicts");
        goto done;
    }
    {   /* the classes the row has, in the dict's order, with their running sums */
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(cum, &pos, &k, &v)) {
            long c = PyLong_AsLong(k);
            if (c < 0 || c >= N_CLS) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "track_extend: a class out of range");
                goto done;
            }
            PyObject *sv = PyDict_GetItemWithError(sums, k);
            if (sv == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetObject(PyExc_KeyError, k);
                goto done;
            }
            sum[c] = as_i64(sv, &ok);
            if (!ok)
                goto done;
            has[c] = 1;
            order[n_order++] = (int)c;
        }
    }
    for (Py_ssize_t i = start; i < stop; i++) {
        if (!(i & (STRIDE - 1))) {
            for (int j = 0; j < n_order; j++)
                if (buf_put(&blocks[order[j]], &sum[order[j]], 8) < 0)
                    goto done;
            if (me != Py_None || new_me)
                if (buf_put(&me_buf, &top, 8) < 0)
                    goto done;
        }
        int64_t ti = t[i], d = DUR(i);
        int code = kind[i];
        long c = (code >= 0 && code < N_CLS) ? cls_of[code] : IDLE;
        if (c == WORK) {
            PyObject *detail = Py_None;
            if (details != Py_None) {
                PyObject *idx = PyLong_FromSsize_t(i);
                detail = idx ? PyObject_CallMethodOneArg(details, s_get, idx) : NULL;
                Py_XDECREF(idx);
                if (detail == NULL)
                    goto done;
            }
            else
                Py_INCREF(detail);
            PyObject *kc = PyLong_FromLong(code);
            PyObject *got = kc ? PyObject_CallFunctionObjArgs(class_of, kc, detail, work, NULL) : NULL;
            Py_XDECREF(kc);
            Py_DECREF(detail);
            if (got == NULL)
                goto done;
            c = PyLong_AsLong(got);
            Py_DECREF(got);
            if (c < 0 || c >= N_CLS) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "track_extend: a class out of range");
                goto done;
            }
        }
        int8_t c8 = (int8_t)c;
        if (buf_put(&cls_buf, &c8, 1) < 0)
            goto done;
        if (c == MARK) {
            int32_t i32 = (int32_t)i;
            if (code < 0 || code >= N_CLS) { /* (MARK classes come from the table: a code in range) */
                PyErr_SetString(PyExc_ValueError, "track_extend: a kind code out of range");
                goto done;
            }
            if (buf_put(&insts[code], &i32, 4) < 0)
                goto done;
        }
        else if (c != IDLE) {
            if (!has[c]) { /* the row's first span of this class: its blocks are all zeros so far */
                PyObject *key = PyLong_FromLong(c), *arr = new_array(s_q), *zero = PyLong_FromLong(0);
                int r = (key && arr && zero && PyDict_SetItem(cum, key, arr) == 0 && PyDict_SetItem(sums, key, zero) == 0)
                        ? 0 : -1;
                Py_XDECREF(key);
                Py_XDECREF(arr);
                Py_XDECREF(zero);
                if (r < 0)
                    goto done;
                int64_t z = 0;
                for (Py_ssize_t b = 0; b <= (i >> SHIFT); b++)
                    if (buf_put(&blocks[c], &z, 8) < 0)
                        goto done;
                has[c] = 1;
                sum[c] = 0;
                order[n_order++] = (int)c;
            }
            sum[c] += d;
        }
        if (me == Py_None && !new_me && ti < top) { /* the first overlap: the running maximum from now on */
            new_me = 1;
            int64_t run = -1;
            for (Py_ssize_t j = 0; j < ((i >> SHIFT) << SHIFT); j++) {
                if (!(j & (STRIDE - 1)) && buf_put(&me_buf, &run, 8) < 0)
                    goto done;
                if (t[j] + DUR(j) > run)
                    run = t[j] + DUR(j);
            }
            if (buf_put(&me_buf, &run, 8) < 0)
                goto done;
        }
        int64_t end = ti + d;
        if (end > top)
            top = end;
    }
    /* hand it over: the arrays, the sums, the instants, n, top, life */
    if (append_bytes(tr, s_cls, &cls_buf) < 0)
        goto done;
    for (int j = 0; j < n_order; j++) {
        int c = order[j];
        PyObject *key = PyLong_FromLong(c);
        if (key == NULL)
            goto done;
        PyObject *arr = PyDict_GetItemWithError(cum, key); /* borrowed */
        PyObject *sv = arr ? PyLong_FromLongLong(sum[c]) : NULL;
        int r = -1;
        if (sv != NULL && blocks[c].len) {
            PyObject *view = PyMemoryView_FromMemory(blocks[c].data, blocks[c].len, PyBUF_READ);
            PyObject *x = view ? PyObject_CallMethodOneArg(arr, s_frombytes, view) : NULL;
            Py_XDECREF(view);
            r = x ? 0 : -1;
            Py_XDECREF(x);
        }
        else if (sv != NULL)
            r = 0;
        if (r == 0)
            r = PyDict_SetItem(sums, key, sv);
        Py_XDECREF(sv);
        Py_DECREF(key);
        if (r < 0)
            goto done;
    }
    if (new_me) {
        PyObject *arr = new_array(s_q);
        if (arr == NULL || PyObject_SetAttr(tr, s_maxend, arr) < 0) {
            Py_XDECREF(arr);
            goto done;
        }
        Py_DECREF(me);
        me = arr;
    }
    if (me != Py_None && me_buf.len) {
        PyObject *view = PyMemoryView_FromMemory(me_buf.data, me_buf.len, PyBUF_READ);
        PyObject *x = view ? PyObject_CallMethodOneArg(me, s_frombytes, view) : NULL;
        Py_XDECREF(view);
        if (x == NULL)
            goto done;
        Py_DECREF(x);
    }
    for (int code = 0; code < N_CLS; code++) {
        if (!insts[code].len)
            continue;
        PyObject *key = PyLong_FromLong(code);
        if (key == NULL)
            goto done;
        PyObject *arr = PyDict_GetItemWithError(inst, key);
        if (arr != NULL)
            Py_INCREF(arr);
        else if (PyErr_Occurred() || (arr = new_array(s_i)) == NULL || PyDict_SetItem(inst, key, arr) < 0) {
            Py_XDECREF(arr);
            Py_DECREF(key);
            goto done;
        }
        Py_DECREF(key);
        PyObject *view = PyMemoryView_FromMemory(insts[code].data, insts[code].len, PyBUF_READ);
        PyObject *x = view ? PyObject_CallMethodOneArg(arr, s_frombytes, view) : NULL;
        Py_XDECREF(view);
        Py_DECREF(arr);
        if (x == NULL)
            goto done;
        Py_DECREF(x);
    }
    PyObject *life = Py_BuildValue("(LL)", (long long)t[0], (long long)top);
    if (life == NULL || PyObject_SetAttr(tr, s_life, life) < 0 || set_attr_i64(tr, s_top, top) < 0 ||
        set_attr_i64(tr, s_n, stop) < 0) {
        Py_XDECREF(life);
        goto done;
    }
    Py_DECREF(life);
    result = PyLong_FromSsize_t(stop - start);
done:
    PyBuffer_Release(&bt);
    PyBuffer_Release(&bd);
    PyBuffer_Release(&bk);
    PyMem_Free(cls_buf.data);
    PyMem_Free(me_buf.data);
    for (int k = 0; k < N_CLS; k++) {
        PyMem_Free(blocks[k].data);
        PyMem_Free(insts[k].data);
    }
    Py_XDECREF(cum);
    Py_XDECREF(inst);
    Py_XDECREF(sums);
    Py_XDECREF(me);
    Py_XDECREF(details);
    Py_XDECREF(work);
    return result;
}

/* ------------------------------------------------------------------ sorting a lane (Lane._sort) */
/*
 * Lane._sort in Python builds a list of indices and sorted()'s list of keys, ~70 bytes an event of the lane
 * (the accept lane of a 10M-event recording is ~2M events: ~140 MB at the peak of loading).  argsort() is the
 * same stable order in 8 bytes an event (two int32 arrays); take() applies it to a column.
 */
static int
hold_array(PyObject *arr, Py_buffer *b, int writable)
{
    if (!PyObject_TypeCheck(arr, (PyTypeObject *)array_type)) {
        PyErr_SetString(PyExc_TypeError, "expected an array.array");
        return -1;
    }
    if (PyObject_GetBuffer(arr, b, PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (b->format == NULL || b->format[1] != 0 || !strchr("bhilq", b->format[0]) ||
        (b->itemsize != 1 && b->itemsize != 2 && b->itemsize != 4 && b->itemsize != 8)) {
        PyBuffer_Release(b);
        PyErr_SetString(PyExc_TypeError, "expected an array of signed integers");
        return -1;
    }
    return 0;
}

static inline int64_t
item_at(const void *p, Py_ssize_t size, Py_ssize_t i)
{
    switch (size) {
    case 8: return ((const int64_t *)p)[i];
    case 4: return ((const int32_t *)p)[i];
    case 2: return ((const int16_t *)p)[i];
    default: return ((const int8_t *)p)[i];
    }
}

/* a new array of typecode ``code`` with n items (zeros), and its buffer held writable */
static PyObject *
zeros(char code, Py_ssize_t n, Py_buffer *b)
{
    char text[2] = {code, 0};
    PyObject *codes = PyUnicode_FromString(text);
    PyObject *one = codes ? PyObject_CallFunction(array_type, "O[i]", codes, 0) : NULL;
    Py_XDECREF(codes);
    if (one == NULL)
        return NULL;
    PyObject *arr = PySequence_Repeat(one, n);
    Py_DECREF(one);
    if (arr == NULL)
        return NULL;
    if (PyObject_GetBuffer(arr, b, PyBUF_WRITABLE) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

/*
 * The indices 0..n-1 sorted stably by their keys, into out: 0, or -1 out of memory.  A least-significant-digit
 * radix sort of the keys less their minimum, 11 bits a pass, a pass skipped where every key has the same digit:
 * a lane's times span ~31-40 bits, so 3-4 passes whatever the order (the bottom-up merge sort this replaces took
 * 17 passes for a 180,000-event lane, ~4% of a load at 1M events).  Keys are read through the indices (8 bytes an
 * item of room, as before); short arrays get an insertion sort.
 */
#define RADIX_BITS 11
#define RADIX (1 << RADIX_BITS)
static int
sort_indices(const void *k, Py_ssize_t size, Py_ssize_t n, int32_t *out)
{
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (int32_t)i;
    if (n < 64) {
        for (Py_ssize_t i = 1; i < n; i++) {
            int32_t at = out[i];
            int64_t v = item_at(k, size, at);
            Py_ssize_t j = i;
            for (; j > 0 && item_at(k, size, out[j - 1]) > v; j--) /* (strictly: equal keys keep their order) */
                out[j] = out[j - 1];
            out[j] = at;
        }
        return 0;
    }
    int64_t lo = item_at(k, size, 0), hi = lo;
    int sorted = 1;
    for (Py_ssize_t i = 1; i < n; i++) {
        int64_t v = item_at(k, size, i);
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
        if (sorted && v < item_at(k, size, i - 1))
            sorted = 0;
    }
    if (sorted)
        return 0;
    uint64_t range = (uint64_t)hi - (uint64_t)lo;
    int passes = 0;
    while (passes * RADIX_BITS < 64 && (range >> (passes * RADIX_BITS)) != 0)
        passes++;
    Py_ssize_t *count = PyMem_Calloc((size_t)passes * RADIX, sizeof(Py_ssize_t));
    int32_t *tmp = count ? PyMem_Malloc(sizeof(int32_t) * (size_t)n) : NULL;
    if (tmp == NULL) {
        PyMem_Free(count);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t u = (uint64_t)item_at(k, size, i) - (uint64_t)lo;
        for (int p = 0; p < passes; p++)
            count[p * RADIX + ((u >> (p * RADIX_BITS)) & (RADIX - 1))]++;
    }
    int32_t *a = out, *b = tmp;
    for (int p = 0; p < passes; p++) {
        Py_ssize_t *c = count + p * RADIX, sum = 0;
        int shift = p * RADIX_BITS, skip = 0;
        for (int d = 0; d < RADIX; d++) {
            if (c[d] == n)
                skip = 1;
            Py_ssize_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        if (skip)
            continue;
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t u = (uint64_t)item_at(k, size, a[i]) - (uint64_t)lo;
            b[c[(u >> shift) & (RADIX - 1)]++] = a[i];
        }
        int32_t *swap = a;
        a = b;
        b = swap;
    }
    if (a != out)
        memcpy(out, a, sizeof(int32_t) * (size_t)n);
    PyMem_Free(tmp);
    PyMem_Free(count);
    return 0;
}

PyDoc_STRVAR(argsort_doc,
"argsort(keys: array) -> array('i')\n\n"
"The indices of keys in the stable order of their values: sorted(range(len(keys)), key=keys.__getitem__).");

static PyObject *
argsort(PyObject *module, PyObject *keys)
{
    Py_buffer kb, ob;
    if (hold_array(keys, &kb, 0) < 0)
        return NULL;
    Py_ssize_t n = kb.len / kb.itemsize, size = kb.itemsize;
    if (n > INT32_MAX) {
        PyBuffer_Release(&kb);
        PyErr_SetString(PyExc_OverflowError, "argsort: more than 2**31 items");
        return NULL;
    }
    PyObject *out = zeros('i', n, &ob);
    if (out != NULL) {
        if (sort_indices(kb.buf, size, n, ob.buf) < 0)
            PyErr_NoMemory();
        PyBuffer_Release(&ob);
    }
    if (PyErr_Occurred())
        Py_CLEAR(out);
    PyBuffer_Release(&kb);
    return out;
}

PyDoc_STRVAR(take_doc,
"take(values: array, order: array('i')) -> array\n\n"
"array(values.typecode, map(values.__getitem__, order)), without a Python int an item.");

static PyObject *
take(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "take(values, order)");
        return NULL;
    }
    Py_buffer vb, xb, ob;
    if (hold_array(args[0], &vb, 0) < 0)
        return NULL;
    if (hold_array(args[1], &xb, 0) < 0) {
        PyBuffer_Release(&vb);
        return NULL;
    }
    Py_ssize_t nv = vb.len / vb.itemsize, nx = xb.len / xb.itemsize, size = vb.itemsize;
    PyObject *out = zeros(vb.format[0], nx, &ob);
    if (out != NULL) {
        char *dst = ob.buf;
        const char *src = vb.buf;
        for (Py_ssize_t i = 0; i < nx; i++) {
            int64_t at = item_at(xb.buf, xb.itemsize, i);
            if (at < 0 || at >= nv) {
                PyErr_SetString(PyExc_IndexError, "take: an index out of range");
                Py_CLEAR(out);
                break;
            }
            memcpy(dst + i * size, src + at * size, size);
        }
        PyBuffer_Release(&ob);
    }
    PyBuffer_Release(&xb);
    PyBuffer_Release(&vb);
    return out;
}

/* ------------------------------------------------------------------ bursts of activity (timeline/activity.py) */
/*
 * activity.bursts over every event: in Python a tuple an event, a sort of them and a loop held the UI ~3 s
 * at the end of loading 1M events (~30 s at 10M).  The same spans, order and merge, on plain structs.
 */
typedef struct { int64_t a, b; int8_t c; } Span;
typedef struct { int64_t a, b; long long points, conns; } Piece;  /* spans merged: one lane's piece of a burst */

static int
piece_cmp(const void *x, const void *y)
{
    const Piece *p = x, *q = y;
    return (p->a > q->a) - (p->a < q->a);
}

static int
span_cmp(const void *x, const void *y)
{
    const Span *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    if (p->b != q->b) return p->b < q->b ? -1 : 1;
    return (p->c > q->c) - (p->c < q->c);
}

PyDoc_STRVAR(bursts_doc,
"bursts(lanes, how: bytes, min_gap: int, gap_share: float) -> [(t0, t1, points, conns)]\n\n"
"lanes: [(t, dur, kind, conn, n, stopped)], arrays of signed integers (stopped: the sorted indices left out);\n"
"how[code]: 0 a span, 1 left out (quiet), 2 a point at the span's end.  See tracer/timeline/activity.py.");

static PyObject *
bursts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_Check(args[0]) || !PyBytes_Check(args[1]) || PyBytes_GET_SIZE(args[1]) != 256) {
        PyErr_SetString(PyExc_TypeError, "bursts(lanes: list, how: bytes[256], min_gap, gap_share)");
        return NULL;
    }
    const unsigned char *how = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    long long min_gap = PyLong_AsLongLong(args[2]);
    double share = PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred())
        return NULL;
    PyObject *lanes = args[0];
    Py_ssize_t nl = PyList_GET_SIZE(lanes), total = 0;
    for (Py_ssize_t l = 0; l < nl; l++) {
        PyObject *item = PyList_GET_ITEM(lanes, l);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 6) {
            PyErr_SetString(PyExc_TypeError, "bursts: a lane is (t, dur, kind, conn, n, stopped)");
            return NULL;
        }
        Py_ssize_t n = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 4));
        if (n < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "bursts: n < 0");
            return NULL;
        }
        total += n;
    }
    Span *sp = PyMem_RawMalloc((total ? total : 1) * sizeof(Span));
    if (sp == NULL)
        return PyErr_NoMemory();
    Py_ssize_t m = 0;
    Py_ssize_t *runs = PyMem_RawMalloc((size_t)(nl + 1) * sizeof(Py_ssize_t));  /* lane l's spans: runs[l].. */
    if (runs == NULL) {
        PyMem_RawFree(sp);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t l = 0; l < nl; l++) {
        runs[l] = m;
        PyObject *item = PyList_GET_ITEM(lanes, l);
        Py_ssize_t n = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 4));
        Py_buffer b[5];
        int held = 0;
        for (; held < 5; held++) {
            PyObject *col = PyTuple_GET_ITEM(item, held == 4 ? 5 : held);
            if (hold_array(col, &b[held], 0) < 0)
                break;
            if (held < 4 && b[held].len / b[held].itemsize < n) {
                PyBuffer_Release(&b[held]);
                PyErr_SetString(PyExc_ValueError, "bursts: a column shorter than n");
                break;
            }
        }
        if (held < 5) {
            for (int k = 0; k < held; k++)
                PyBuffer_Release(&b[k]);
            PyMem_RawFree(sp);
            PyMem_RawFree(runs);
            return NULL;
        }
        Py_ssize_t ns = b[4].len / b[4].itemsize, next = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            while (next < ns && item_at(b[4].buf, b[4].itemsize, next) < i)
                next++;
            if (next < ns && item_at(b[4].buf, b[4].itemsize, next) == i)
                continue;  /* ended by the stop */
            unsigned char h = how[(unsigned char)item_at(b[2].buf, b[2].itemsize, i)];
            if (h == 1)
                continue;
            int64_t t = item_at(b[0].buf, b[0].itemsize, i), end = t + item_at(b[1].buf, b[1].itemsize, i);
            sp[m].a = h == 2 ? end : t;
            sp[m].b = end;
            sp[m].c = item_at(b[3].buf, b[3].itemsize, i) != 0;
            m++;
        }
        for (int k = 0; k < 5; k++)
            PyBuffer_Release(&b[k]);
    }
    runs[nl] = m;
    PyObject *out = PyList_New(0);
    if (out == NULL || m == 0) {
        PyMem_RawFree(sp);
        PyMem_RawFree(runs);
        return out;
    }
    /* The bursts are the pieces of the union of [a, b + gap] over the spans, whatever the order: each lane's
     * spans (in time order already, but for a wait's end coming after the next start: then sorted) are merged
     * into its pieces, and the pieces of every lane, few, sorted and merged again: the same bursts, points
     * and conns as one sort of every span (~1.2 s of the 1.7 s at 10M events was that qsort). */
    int64_t low = sp[0].a, top = sp[0].b;
    for (Py_ssize_t i = 1; i < m; i++) {
        if (sp[i].a < low)
            low = sp[i].a;
        if (sp[i].b > top)
            top = sp[i].b;
    }
    double whole = (double)(top - low) * share;
    double gap = whole > (double)min_gap ? whole : (double)min_gap;
    Piece *pc = NULL;
    Py_ssize_t np = 0, cap = 0;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t l = 0; l < nl && !failed; l++) {
        Span *run = sp + runs[l];
        Py_ssize_t len = runs[l + 1] - runs[l];
        if (len == 0)
            continue;
        for (Py_ssize_t i = 1; i < len; i++)
            if (run[i].a < run[i - 1].a) {
                qsort(run, (size_t)len, sizeof(Span), span_cmp);
                break;
            }
        for (Py_ssize_t i = 0; i < len; i++) {
            if (i == 0 || (double)(run[i].a - pc[np - 1].b) > gap) {
                if (np == cap) {
                    Py_ssize_t more = cap ? 2 * cap : 64;
                    Piece *grown = PyMem_RawRealloc(pc, (size_t)more * sizeof(Piece));
                    if (grown == NULL) {
                        failed = 1;
                        break;
                    }
                    pc = grown, cap = more;
                }
                pc[np].a = run[i].a, pc[np].b = run[i].b, pc[np].points = 0, pc[np].conns = 0;
                np++;
            }
            Piece *p = &pc[np - 1];
            if (run[i].b > p->b)
                p->b = run[i].b;
            p->points++;
            p->conns += run[i].c;
        }
    }
    if (!failed)
        qsort(pc, (size_t)np, sizeof(Piece), piece_cmp);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(sp);
    PyMem_RawFree(runs);
    if (failed) {
        PyMem_RawFree(pc);
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    int64_t start = pc[0].a, end = pc[0].b;
    long long count = 0, conns = 0;
    for (Py_ssize_t i = 0; i <= np; i++) {
        if (i == np || (double)(pc[i].a - end) > gap) {
            PyObject *one = Py_BuildValue("(LLLL)", (long long)start, (long long)end, count, conns);
            if (one == NULL || PyList_Append(out, one) < 0) {
                Py_XDECREF(one);
                Py_DECREF(out);
                PyMem_RawFree(pc);
                return NULL;
            }
            Py_DECREF(one);
            if (i == np)
                break;
            start = pc[i].a, end = pc[i].b, count = 0, conns = 0;
        }
        if (pc[i].b > end)
            end = pc[i].b;
        count += pc[i].points;
        conns += pc[i].conns;
    }
    PyMem_RawFree(pc);
    return out;
}

/* ------------------------------------------------------------------ the lifecycle walk (analysis/check.py) */
/*
 * check's _connections over every event that names a connection: in Python a tuple an event, a dict of
 * groups and a step of the table each cost ~0.6 s at 1M events.  Here: each (connection, side) a group, in
 * the order first seen (lanes in order, events in lane order), its events sorted by (t, line, kind, lane id),
 * walked through the table; what the walk finds comes back as tuples that check.py turns into findings.
 * An event is a (lane, index) pair, 8 bytes, plus 4 for its group: the columns are read where they are.
 */
typedef struct { Py_buffer b[4]; int64_t id; int side; Py_ssize_t n; } WalkLane;  /* t, kind, conn, lines */
typedef struct { int32_t lane, i; } WalkRef;

static WalkLane *walk_lanes;  /* for walk_cmp (qsort has no context argument; the GIL is held throughout) */

static inline int
walk_less(WalkRef x, WalkRef y)
{
    const WalkLane *p = &walk_lanes[x.lane], *q = &walk_lanes[y.lane];
    int64_t a = item_at(p->b[0].buf, p->b[0].itemsize, x.i), b = item_at(q->b[0].buf, q->b[0].itemsize, y.i);
    if (a != b) return a < b ? -1 : 1;
    a = item_at(p->b[3].buf, p->b[3].itemsize, x.i), b = item_at(q->b[3].buf, q->b[3].itemsize, y.i);
    if (a != b) return a < b ? -1 : 1;
    a = item_at(p->b[1].buf, p->b[1].itemsize, x.i), b = item_at(q->b[1].buf, q->b[1].itemsize, y.i);
    if (a != b) return a < b ? -1 : 1;
    return (p->id > q->id) - (p->id < q->id);
}

static int
walk_cmp(const void *x, const void *y)
{
    return walk_less(*(const WalkRef *)x, *(const WalkRef *)y);
}

PyDoc_STRVAR(lifecycle_walk_doc,
"lifecycle_walk(lanes, table: bytes, n_states, open_states: int, closed: int) -> [tuple]\n\n"
"lanes: [(lane id, side (0 server, 1 client), t, kind, conn, lines)], arrays of signed integers.\n"
"table[(side * n_states + state) * 256 + code]: the next state + 1, 0 where the table does not allow it\n"
"(state 0: not seen yet).  open_states: a bit a state; closed: the closed state.  Returns, in check.py's\n"
"order, (0, line, conn, side, state, code, lane id, closed line) for an event not allowed and\n"
"(1, line, conn, side, state, code) for a side left open (its last event's line and kind).");

static PyObject *
lifecycle_walk(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyList_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "lifecycle_walk(lanes: list, table: bytes, n_states, open_states, closed)");
        return NULL;
    }
    Py_ssize_t n_states = PyLong_AsSsize_t(args[2]);
    long long open_mask = PyLong_AsLongLong(args[3]);
    Py_ssize_t closed = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred())
        return NULL;
    if (n_states < 1 || n_states > 62 || PyBytes_GET_SIZE(args[1]) != 2 * n_states * 256) {
        PyErr_SetString(PyExc_ValueError, "lifecycle_walk: the table is not 2 * n_states * 256 bytes");
        return NULL;
    }
    const unsigned char *table = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    PyObject *lanes_o = args[0], *out = NULL;
    Py_ssize_t nl = PyList_GET_SIZE(lanes_o), held = 0, total = 0;
    WalkLane *lanes = PyMem_Calloc(nl ? (size_t)nl : 1, sizeof(WalkLane));
    WalkRef *refs = NULL;
    int32_t *gid_of = NULL, *count = NULL, *off = NULL;
    int64_t *keys = NULL;
    int32_t *slots = NULL;
    Py_ssize_t n_groups = 0, cap_groups = 0, n_slots = 0;
    if (lanes == NULL)
        return PyErr_NoMemory();
    for (; held < nl; held++) {
        PyObject *item = PyList_GET_ITEM(lanes_o, held);
        WalkLane *L = &lanes[held];
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 6) {
            PyErr_SetString(PyExc_TypeError, "lifecycle_walk: a lane is (id, side, t, kind, conn, lines)");
            goto done;
        }
        L->id = PyLong_AsLongLong(PyTuple_GET_ITEM(item, 0));
        L->side = PyObject_IsTrue(PyTuple_GET_ITEM(item, 1)) == 1;
        if (PyErr_Occurred())
            goto done;
        int k = 0;
        for (; k < 4; k++)
            if (hold_array(PyTuple_GET_ITEM(item, 2 + k), &L->b[k], 0) < 0)
                break;
        if (k < 4) {
            while (k--)
                PyBuffer_Release(&L->b[k]);
            goto done;
        }
        L->n = L->b[0].len / L->b[0].itemsize;
        for (k = 1; k < 4; k++)
            if (L->b[k].len / L->b[k].itemsize < L->n) {
                for (k = 0; k < 4; k++)
                    PyBuffer_Release(&L->b[k]);
                PyErr_SetString(PyExc_ValueError, "lifecycle_walk: a column shorter than the lane's times");
                goto done;
            }
        if (L->n > INT32_MAX) {
            for (k = 0; k < 4; k++)
                PyBuffer_Release(&L->b[k]);
            PyErr_SetString(PyExc_ValueError, "lifecycle_walk: a lane of over 2**31 events");
            goto done;
        }
        total += L->n;
    }
    /* groups in the order first seen: (conn, side) -> number, open addressing on the packed key */
    gid_of = PyMem_Malloc((total ? (size_t)total : 1) * sizeof(int32_t));
    n_slots = 1024;
    keys = PyMem_Malloc((size_t)n_slots * sizeof(int64_t));
    slots = PyMem_Malloc((size_t)n_slots * sizeof(int32_t));
    if (gid_of == NULL || keys == NULL || slots == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < n_slots; k++) slots[k] = -1;
    Py_ssize_t m = 0;
    for (Py_ssize_t l = 0; l < nl; l++) {
        WalkLane *L = &lanes[l];
        for (Py_ssize_t i = 0; i < L->n; i++) {
            int64_t conn = item_at(L->b[2].buf, L->b[2].itemsize, i);
            if (!conn)
                continue;
            int64_t key = conn * 2 + L->side;
            uint64_t h = ((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 20;
            Py_ssize_t k = (Py_ssize_t)(h & (uint64_t)(n_slots - 1));
            while (slots[k] >= 0 && keys[k] != key)
                k = (k + 1) & (n_slots - 1);
            if (slots[k] < 0) {
                if (n_groups == cap_groups) {
                    cap_groups = cap_groups ? cap_groups * 2 : 1024;
                    int32_t *grown = PyMem_Realloc(count, (size_t)cap_groups * sizeof(int32_t));
                    if (grown == NULL) {
                        PyErr_NoMemory();
                        goto done;
                    }
                    count = grown;
                }
                count[n_groups] = 0;
                keys[k] = key;
                slots[k] = (int32_t)n_groups++;
                if (n_groups * 2 > n_slots) {  /* rehash into twice the room */
                    Py_ssize_t bigger = n_slots * 2;
                    int64_t *nk = PyMem_Malloc((size_t)bigger * sizeof(int64_t));
                    int32_t *ns = PyMem_Malloc((size_t)bigger * sizeof(int32_t));
                    if (nk == NULL || ns == NULL) {
                        PyMem_Free(nk);
                        PyMem_Free(ns);
                        PyErr_NoMemory();
                        goto done;
                    }
                    for (Py_ssize_t j = 0; j < bigger; j++) ns[j] = -1;
                    for (Py_ssize_t j = 0; j < n_slots; j++) {
                        if (slots[j] < 0) continue;
                        uint64_t hj = ((uint64_t)keys[j] * 0x9E3779B97F4A7C15ull) >> 20;
                        Py_ssize_t q = (Py_ssize_t)(hj & (uint64_t)(bigger - 1));
                        while (ns[q] >= 0) q = (q + 1) & (bigger - 1);
                        nk[q] = keys[j];
                        ns[q] = slots[j];
                    }
                    PyMem_Free(keys);
                    PyMem_Free(slots);
                    keys = nk, slots = ns, n_slots = bigger;
                    k = -1;
                }
            }
            int32_t g;
            if (k >= 0) {
                g = slots[k];
            } else {  /* (just rehashed: the new group is the last one) */
                g = (int32_t)(n_groups - 1);
            }
            gid_of[m++] = g;
            count[g]++;
        }
    }
    off = PyMem_Malloc(((size_t)n_groups + 1) * sizeof(int32_t));
    refs = PyMem_Malloc((m ? (size_t)m : 1) * sizeof(WalkRef));
    if (off == NULL || refs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    off[0] = 0;
    for (Py_ssize_t g = 0; g < n_groups; g++) off[g + 1] = off[g] + count[g];
    for (Py_ssize_t g = 0; g < n_groups; g++) count[g] = off[g];  /* now: where the group's next event goes */
    Py_ssize_t e = 0;
    for (Py_ssize_t l = 0; l < nl; l++) {
        WalkLane *L = &lanes[l];
        for (Py_ssize_t i = 0; i < L->n; i++)
            if (item_at(L->b[2].buf, L->b[2].itemsize, i)) {
                WalkRef r = {(int32_t)l, (int32_t)i};
                refs[count[gid_of[e++]]++] = r;
            }
    }
    walk_lanes = lanes;
    out = PyList_New(0);
    if (out == NULL)
        goto done;
    for (Py_ssize_t g = 0; g < n_groups; g++) {
        WalkRef *r = refs + off[g];
        Py_ssize_t n = off[g + 1] - off[g];
        if (n <= 16) {
            for (Py_ssize_t a = 1; a < n; a++) {
                WalkRef x = r[a];
                Py_ssize_t b = a;
                while (b > 0 && walk_less(x, r[b - 1]) < 0) {
                    r[b] = r[b - 1];
                    b--;
                }
                r[b] = x;
            }
        } else {
            qsort(r, (size_t)n, sizeof(WalkRef), walk_cmp);
        }
        WalkLane *L0 = &lanes[r[0].lane];
        int side = L0->side;
        int64_t conn = item_at(L0->b[2].buf, L0->b[2].itemsize, r[0].i);
        Py_ssize_t state = 0;
        int64_t closed_line = 0;
        for (Py_ssize_t k = 0; k < n; k++) {
            WalkLane *L = &lanes[r[k].lane];
            unsigned char code = (unsigned char)item_at(L->b[1].buf, L->b[1].itemsize, r[k].i);
            int64_t line = item_at(L->b[3].buf, L->b[3].itemsize, r[k].i);
            unsigned char next = table[((Py_ssize_t)side * n_states + state) * 256 + code];
            if (!next) {
                PyObject *one = Py_BuildValue("(iLLinbLL)", 0, (long long)line, (long long)conn, side, state,
                                              (signed char)code, (long long)L->id, (long long)closed_line);
                if (one == NULL || PyList_Append(out, one) < 0) {
                    Py_XDECREF(one);
                    Py_CLEAR(out);
                    goto done;
                }
                Py_DECREF(one);
                continue;
            }
            if ((Py_ssize_t)(next - 1) == closed && !closed_line)
                closed_line = line;
            state = next - 1;
        }
        if (state < 63 && (open_mask >> state) & 1) {
            WalkLane *L = &lanes[r[n - 1].lane];
            int64_t line = item_at(L->b[3].buf, L->b[3].itemsize, r[n - 1].i);
            long long code = item_at(L->b[1].buf, L->b[1].itemsize, r[n - 1].i);
            PyObject *one = Py_BuildValue("(iLLinL)", 1, (long long)line, (long long)conn, side, state, code);
            if (one == NULL || PyList_Append(out, one) < 0) {
                Py_XDECREF(one);
                Py_CLEAR(out);
                goto done;
            }
            Py_DECREF(one);
        }
    }
done:
    walk_lanes = NULL;
    for (Py_ssize_t l = 0; l < held; l++)
        for (int k = 0; k < 4; k++)
            PyBuffer_Release(&lanes[l].b[k]);
    PyMem_Free(lanes);
    PyMem_Free(refs);
    PyMem_Free(gid_of);
    PyMem_Free(count);
    PyMem_Free(off);
    PyMem_Free(keys);
    PyMem_Free(slots);
    return out;
}

/* ------------------------------------------------------------------ a row's cells (Track.cells) */
/*
 * Track._cells_py is the definition (and the path without this extension); this is the same summary of each
 * cell in C.  A zoom summarises every cell of every row again: in Python that was ~10 ms of a ~20 ms frame at
 * 10M events.  The arithmetic is the Python's, in the same order: times in doubles (exact for integers under
 * 2**53, and the track is left to Python past LIMIT), a cell's class times summed in the dict's order, ties
 * to the first.  The columns are read with no Python object made (the loader thread appends to the same
 * arrays, and an exported buffer would stop it: nothing here may run Python code), then the cells are built.
 */
#define LIMIT ((double)(1LL << 49))  /* times and class totals past this: Python (9 classes summed stay exact) */

typedef struct {
    const int64_t *t;
    const void *dur;
    int dur_wide;
    const int8_t *kind, *cls;
    Py_ssize_t n;
    int ncum, slot[N_CLS], cum_cls[N_CLS];  /* slot[class]: its place among the row's classes (dict order), or -1 */
    const int64_t *cum[N_CLS];
    Py_ssize_t cum_len;
    int ninst, inst_code[N_CLS];
    const int32_t *inst[N_CLS];
    Py_ssize_t inst_len[N_CLS];
    const int64_t *me;  /* NULL: no overlap, the running maximum is each event's own end */
    Py_ssize_t me_len;
} Cells;

typedef struct {
    PyObject *glyph;  /* borrowed from the tables */
    int cls, code;
} Cell;

static inline double
c_end(const Cells *r, Py_ssize_t j)
{
    int64_t d = r->dur_wide ? ((const int64_t *)r->dur)[j] : (int64_t)((const int32_t *)r->dur)[j];
    return (double)(r->t[j] + d);
}

static inline double
c_dur(const Cells *r, Py_ssize_t j)
{
    return r->dur_wide ? (double)((const int64_t *)r->dur)[j] : (double)((const int32_t *)r->dur)[j];
}

static Py_ssize_t
bisect_t(const int64_t *t, double x, Py_ssize_t lo, Py_ssize_t hi)
{
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if ((double)t[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static Py_ssize_t
bisect_i32(const int32_t *a, Py_ssize_t n, Py_ssize_t x)
{
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double  /* Track.max_end */
c_max_end(const Cells *r, Py_ssize_t j)
{
    if (r->me == NULL)
        return c_end(r, j);
    Py_ssize_t b = j >> SHIFT;
    if (b > r->me_len - 1)
        b = r->me_len - 1;
    double top = (double)r->me[b];
    for (Py_ssize_t k = b << SHIFT; k <= j; k++) {
        double e = c_end(r, k);
        if (e > top)
            top = e;
    }
    return top;
}

static Py_ssize_t  /* Track.covering */
c_covering(const Cells *r, double a)
{
    Py_ssize_t j = bisect_t(r->t, a, 0, r->n) - 1;
    if (j < 0 || c_max_end(r, j) <= a)
        return -1;
    Py_ssize_t stop = j - 64 > -1 ? j - 64 : -1;
    for (Py_ssize_t i = j; i > stop; i--)
        if (c_end(r, i) > a)
            return i;
    return -1;
}

static void  /* Track.time_by_class, into times[slot] */
c_time_by_class(const Cells *r, Py_ssize_t lo, Py_ssize_t hi, double a, double b, Py_ssize_t carry, double *times)
{
    if (hi - lo <= STRIDE || !r->ncum) {
        for (int k = 0; k < r->ncum; k++)
            times[k] = 0;
        for (Py_ssize_t j = lo; j < hi; j++) {
            int c = r->cls[j];
            if (c >= 0 && r->slot[c] >= 0)
                times[r->slot[c]] += c_dur(r, j);
        }
    } else {
        Py_ssize_t last = r->cum_len - 1, blo = lo >> SHIFT, bhi = hi >> SHIFT;
        if (blo > last)
            blo = last;
        if (bhi > last)
            bhi = last;
        for (int k = 0; k < r->ncum; k++)
            times[k] = (double)(r->cum[k][bhi] - r->cum[k][blo]);
        for (Py_ssize_t j = bhi << SHIFT; j < hi; j++) {
            int c = r->cls[j];
            if (c >= 0 && r->slot[c] >= 0)
                times[r->slot[c]] += c_dur(r, j);
        }
        for (Py_ssize_t j = blo << SHIFT; j < lo; j++) {
            int c = r->cls[j];
            if (c >= 0 && r->slot[c] >= 0)
                times[r->slot[c]] -= c_dur(r, j);
        }
    }
    if (hi > lo) {
        Py_ssize_t last = hi - 1;  /* the last span that starts here may run on past the cell: clip it */
        double over = c_end(r, last) - b;
        int c = r->cls[last];
        if (over > 0 && c >= 0 && r->slot[c] >= 0)
            times[r->slot[c]] -= over;
    }
    if (carry >= 0) {
        double e = c_end(r, carry), part = (b < e ? b : e) - a;
        int c = r->cls[carry];
        if (part > 0 && c >= 0 && r->slot[c] >= 0)
            times[r->slot[c]] += part;
    }
}

typedef struct {  /* the glyphs and codes Track.cells draws with (track.py's _CELL_TABLES) */
    PyObject *span[N_CLS], *mark[N_CLS], *client[N_CLS];  /* by class; by kind code (mark: "•" if none) */
    const unsigned char *rank, *life;  /* by kind code: which mark wins a cell; a lifecycle instant */
    PyObject *short_g, *life_g, *blank_g, *close_exit_g, *several_g;
    long MARK, IDLE, SEVERAL, CLOSE, EXIT, RECV;
} Tables;

static int
read_tables(PyObject *o, Tables *tb)
{
    if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != 16)
        goto bad;
    for (int k = 0; k < 3; k++) {
        PyObject *col = PyTuple_GET_ITEM(o, k);
        if (!PyTuple_Check(col) || PyTuple_GET_SIZE(col) != N_CLS)
            goto bad;
        PyObject **into = k == 0 ? tb->span : k == 1 ? tb->mark : tb->client;
        for (int c = 0; c < N_CLS; c++)
            into[c] = PyTuple_GET_ITEM(col, c) == Py_None ? NULL : PyTuple_GET_ITEM(col, c);
    }
    for (int k = 3; k < 5; k++)
        if (!PyBytes_Check(PyTuple_GET_ITEM(o, k)) || PyBytes_GET_SIZE(PyTuple_GET_ITEM(o, k)) != N_CLS)
            goto bad;
    tb->rank = (const unsigned char *)PyBytes_AS_STRING(PyTuple_GET_ITEM(o, 3));
    tb->life = (const unsigned char *)PyBytes_AS_STRING(PyTuple_GET_ITEM(o, 4));
    tb->short_g = PyTuple_GET_ITEM(o, 5);
    tb->life_g = PyTuple_GET_ITEM(o, 6);
    tb->blank_g = PyTuple_GET_ITEM(o, 7);
    tb->close_exit_g = PyTuple_GET_ITEM(o, 8);
    tb->several_g = PyTuple_GET_ITEM(o, 9);
    long *ints[] = {&tb->MARK, &tb->IDLE, &tb->SEVERAL, &tb->CLOSE, &tb->EXIT, &tb->RECV};
    for (int k = 0; k < 6; k++) {
        *ints[k] = PyLong_AsLong(PyTuple_GET_ITEM(o, 10 + k));
        if (*ints[k] == -1 && PyErr_Occurred())
            return -1;
    }
    for (int c = 0; c < N_CLS; c++)
        if (tb->mark[c] == NULL)
            goto bad;
    return 0;
bad:
    PyErr_SetString(PyExc_TypeError, "track_cells: tables are track.py's _CELL_TABLES");
    return -1;
}

static inline Cell
mk(PyObject *g, long cls, long code)
{
    Cell c = {g, (int)cls, (int)code};
    return c;
}

/* the cells of [start + c*scale, start + (c+1)*scale) for c < width: Track._cells_py's loop, into out */
static void
c_cells(const Cells *r, const Tables *tb, int client, int64_t life0, int64_t life1, double start, double scale,
        Py_ssize_t width, Cell *out)
{
    const int64_t *t = r->t;
    const Py_ssize_t n = r->n;
    const double half = scale / 2;
    Py_ssize_t lo = bisect_t(t, start, 0, n), carry = c_covering(r, start);
    double carry_end = carry >= 0 ? c_end(r, carry) : -1;
    double times[N_CLS];
    int marks[N_CLS];
    for (Py_ssize_t c = 0; c < width; c++) {
        double a = start + (double)c * scale, b = a + scale;
        Py_ssize_t hi = bisect_t(t, b, lo, n);
        if (hi == lo) {
            Cell cell = {NULL, 0, 0};
            if (carry_end > a && carry >= 0 && c_end(r, carry) > a) {  /* Track._carry_cell */
                double end = c_end(r, carry);
                int cls = r->cls[carry];
                if (cls >= 0 && tb->span[cls] != NULL) {
                    if ((end < b ? end : b) - a >= half)
                        cell = mk(tb->span[cls], cls, -1);
                    else if (client && r->kind[carry] == tb->RECV && tb->client[tb->RECV] != NULL)
                        cell = mk(tb->client[tb->RECV], cls, r->kind[carry]);
                }
            }
            if (cell.glyph == NULL)
                cell = (double)life0 <= a && b <= (double)life1 ? mk(tb->life_g, tb->IDLE, -1)
                                                                : mk(tb->blank_g, tb->IDLE, -1);
            out[c] = cell;
            continue;
        }
        c_time_by_class(r, lo, hi, a, b, carry_end > a ? carry : -1, times);
        double busy = 0;
        int top = (int)tb->IDLE;
        double best_time = 0;
        for (int k = 0; k < r->ncum; k++) {
            busy += times[k];
            if (k == 0 || times[k] > best_time) {
                best_time = times[k];
                top = -1 - k;  /* a slot, for now */
            }
        }
        if (top < 0)  /* the slot's class */
            top = r->cum_cls[-1 - top];
        int nmarks = 0, nlife = 0, has_close = 0, has_exit = 0, one_life = -1;
        for (int k = 0; k < r->ninst; k++)
            if (bisect_i32(r->inst[k], r->inst_len[k], hi) > bisect_i32(r->inst[k], r->inst_len[k], lo)) {
                int code = r->inst_code[k];
                marks[nmarks++] = code;
                if (code >= 0 && code < N_CLS && tb->life[code]) {
                    nlife++;
                    one_life = one_life < 0 ? code : one_life;
                    has_close |= code == tb->CLOSE;
                    has_exit |= code == tb->EXIT;
                }
            }
        int top_span = top >= 0 && top < N_CLS && tb->span[top] != NULL;
        Cell cell;
        if (nlife) {  /* _life_cell */
            if (nlife == 1)
                cell = mk(tb->mark[one_life], tb->MARK, one_life);
            else if (nlife == 2 && has_close && has_exit)
                cell = mk(tb->close_exit_g, tb->MARK, tb->CLOSE);
            else
                cell = mk(tb->several_g, tb->MARK, tb->SEVERAL);
        } else if (hi - lo == 1 && (nmarks || c_dur(r, lo) < half)) {  /* Track._single */
            int code = r->kind[lo], own = r->cls[lo];
            if (own == tb->MARK)
                cell = mk(tb->mark[code], tb->MARK, code);  /* (a MARK class: 0 <= code < 128) */
            else if (client && code >= 0 && tb->client[code] != NULL)
                cell = mk(tb->client[code], own, code);
            else if (busy >= half && top_span)
                cell = mk(tb->span[top], top, -1);
            else
                cell = mk(tb->short_g, own, code);
        } else if (nmarks && busy < half) {
            int best = marks[0];
            for (int k = 1; k < nmarks; k++)
                if (tb->rank[marks[k]] > tb->rank[best])
                    best = marks[k];
            cell = mk(tb->mark[best], tb->MARK, best);
        } else if (busy >= half && top_span) {
            cell = mk(tb->span[top], top, -1);
        } else {
            cell = top_span ? mk(tb->short_g, top, -1) : mk(tb->short_g, tb->MARK, -1);
        }
        out[c] = cell;
        Py_ssize_t last = hi - 1;  /* the event that runs on past this cell (if any) carries into the next */
        double last_end = c_end(r, last);
        if (last_end > b && last_end >= carry_end) {
            carry = last;
            carry_end = last_end;
        } else if (r->me != NULL && c_max_end(r, last) > (b > carry_end ? b : carry_end)) {
            carry = c_covering(r, b);  /* an earlier span of this cell outlasts the last one (overlap) */
            carry_end = carry >= 0 ? c_end(r, carry) : -1;
        }
        lo = hi;
    }
}

/* hold the buffer of ``arr``, an array of typecode ``code`` (or ``code2``) of at least ``n`` items; 1: it is not */
static int
hold_col(PyObject *arr, Py_buffer *b, char code, char code2, Py_ssize_t n, Py_ssize_t *len)
{
    if (!PyObject_TypeCheck(arr, (PyTypeObject *)array_type))
        return 1;
    if (PyObject_GetBuffer(arr, b, PyBUF_FORMAT) < 0)
        return -1;
    *len = b->len / b->itemsize;
    if (b->format == NULL || b->format[1] != 0 || (b->format[0] != code && b->format[0] != code2) || *len < n) {
        PyBuffer_Release(b);
        return 1;
    }
    return 0;
}

/* the window a row or a counter is drawn in: start, scale (ns a cell), width; -1 with an error set */
static int
read_window(PyObject *const *args, double *start, double *scale, Py_ssize_t *width)
{
    *start = PyFloat_AsDouble(args[0]);
    *scale = PyFloat_AsDouble(args[1]);
    *width = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return -1;
    if (*width < 0)
        *width = 0;
    return 0;
}

/* whether every cell edge of the window is below LIMIT, where doubles hold the times exactly */
static int
window_exact(double start, double scale, Py_ssize_t width)
{
    return fabs(start) < LIMIT && fabs(scale) < LIMIT && fabs(start + (double)width * scale) < LIMIT;
}

PyDoc_STRVAR(track_cells_doc,
"track_cells(track, start: float, scale: float, width: int, tables) -> [(glyph, class, kind code)] | None\n\n"
"Track.cells in C (Track._cells_py is the definition): the cells of [start + c*scale, start + (c+1)*scale) for\n"
"c < width.  None: a column is not an array of the usual type, or times too large to be exact in a double\n"
"(the Python path then).  tables: track.py's _CELL_TABLES.");

static PyObject *
track_cells(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "track_cells(track, start, scale, width, tables)");
        return NULL;
    }
    PyObject *tr = args[0];
    double start, scale;
    Py_ssize_t width;
    Tables tb;
    if (read_window(args + 1, &start, &scale, &width) < 0 || read_tables(args[4], &tb) < 0)
        return NULL;
    Cells r;
    memset(&r, 0, sizeof(r));
    for (int c = 0; c < N_CLS; c++)
        r.slot[c] = -1;
    Py_buffer bufs[5 + 2 * N_CLS];
    int held = 0, ok = 1, status = -1;  /* status: -1 an error, 1 use Python, 0 done */
    int64_t life0 = 0, life1 = 0;
    int client = 0;
    Cell *out = NULL;
    PyObject *attrs[8] = {NULL};  /* t, dur, kind, cls, cum, inst, maxend, life */
    PyObject *names[8] = {s_t, s_dur, s_kind, s_cls, s_cum, s_inst, s_maxend, s_life};
    r.n = (Py_ssize_t)attr_i64(tr, s_n, &ok);
    if (!ok)
        goto done;
    for (int k = 0; k < 8; k++)
        if ((attrs[k] = PyObject_GetAttr(tr, names[k])) == NULL)
            goto done;
    PyObject *cl = PyObject_GetAttr(tr, s_client);
    if (cl == NULL || (client = PyObject_IsTrue(cl)) < 0) {
        Py_XDECREF(cl);
        goto done;
    }
    Py_DECREF(cl);
    if (r.n <= 0 || !PyDict_CheckExact(attrs[4]) || !PyDict_CheckExact(attrs[5])) {
        status = 1;
        goto done;
    }
    if (attrs[7] != Py_None) {  /* life: (first start, last end) */
        if (!PyTuple_Check(attrs[7]) || PyTuple_GET_SIZE(attrs[7]) != 2) {
            status = 1;
            goto done;
        }
        life0 = as_i64(PyTuple_GET_ITEM(attrs[7], 0), &ok);
        life1 = as_i64(PyTuple_GET_ITEM(attrs[7], 1), &ok);
        if (!ok)
            goto done;
    }
    {
        Py_ssize_t len;
        const char codes[4][2] = {{'q', 'q'}, {'q', 'i'}, {'b', 'b'}, {'b', 'b'}};
        for (int k = 0; k < 4; k++) {
            int h = hold_col(attrs[k], &bufs[held], codes[k][0], codes[k][1], r.n, &len);
            if (h) {
                status = h;
                goto done;
            }
            held++;
        }
        r.t = bufs[0].buf;
        r.dur = bufs[1].buf;
        r.dur_wide = bufs[1].itemsize == 8;
        r.kind = bufs[2].buf;
        r.cls = bufs[3].buf;
        PyObject *key, *arr;
        Py_ssize_t pos = 0;
        while (PyDict_Next(attrs[4], &pos, &key, &arr)) {  /* cum: class -> running sums, every STRIDE events */
            long c = PyLong_AsLong(key);
            if (c < 0 || c >= N_CLS || r.slot[c] >= 0 || r.ncum >= N_CLS) {
                status = PyErr_Occurred() ? -1 : 1;
                goto done;
            }
            int h = hold_col(arr, &bufs[held], 'q', 'q', r.ncum ? r.cum_len : 1, &len);
            if (h) {
                status = h;
                goto done;
            }
            held++;
            if (!r.ncum)
                r.cum_len = len;  /* every class's blocks: as many (the first's, as Track.time_by_class) */
            r.cum[r.ncum] = bufs[held - 1].buf;
            if ((double)r.cum[r.ncum][r.cum_len - 1] >= LIMIT || r.cum[r.ncum][0] < 0) {
                status = 1;
                goto done;
            }
            r.slot[c] = r.ncum;
            r.cum_cls[r.ncum++] = (int)c;
        }
        pos = 0;
        while (PyDict_Next(attrs[5], &pos, &key, &arr)) {  /* inst: kind code -> indices of its instants */
            long code = PyLong_AsLong(key);
            if (code < 0 || code >= N_CLS || r.ninst >= N_CLS) {
                status = PyErr_Occurred() ? -1 : 1;
                goto done;
            }
            int h = hold_col(arr, &bufs[held], 'i', 'i', 0, &r.inst_len[r.ninst]);
            if (h || bufs[held].itemsize != 4) {
                if (!h)
                    PyBuffer_Release(&bufs[held]);
                status = h ? h : 1;
                goto done;
            }
            r.inst[r.ninst] = bufs[held++].buf;
            r.inst_code[r.ninst++] = (int)code;
        }
        if (attrs[6] != Py_None) {
            int h = hold_col(attrs[6], &bufs[held], 'q', 'q', 1, &r.me_len);
            if (h) {
                status = h;
                goto done;
            }
            r.me = bufs[held++].buf;
        }
    }
    {   /* times exact in doubles: the first start, the last end, and the runs of class time (checked above) */
        double lim = LIMIT;
        if ((double)r.t[0] <= -lim || (double)r.t[r.n - 1] >= lim || (double)life1 >= lim || (double)life0 <= -lim ||
            !window_exact(start, scale, width)) {
            status = 1;
            goto done;
        }
    }
    out = PyMem_RawMalloc((width ? width : 1) * sizeof(Cell));
    if (out == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    c_cells(&r, &tb, client, life0, life1, start, scale, width, out);
    status = 0;
done:
    for (int k = 0; k < held; k++)
        PyBuffer_Release(&bufs[k]);
    for (int k = 0; k < 8; k++)
        Py_XDECREF(attrs[k]);
    if (status) {
        PyMem_RawFree(out);
        if (status == 1)
            Py_RETURN_NONE;
        return NULL;
    }
    PyObject *list = PyList_New(width);  /* the columns are let go: now Python objects may be made */
    for (Py_ssize_t c = 0; list != NULL && c < width; c++) {
        PyObject *cls = PyLong_FromLong(out[c].cls), *code = PyLong_FromLong(out[c].code);
        PyObject *one = cls && code ? PyTuple_Pack(3, out[c].glyph, cls, code) : NULL;
        Py_XDECREF(cls);
        Py_XDECREF(code);
        if (one == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, c, one);
    }
    PyMem_RawFree(out);
    return list;
}

PyDoc_STRVAR(counter_peaks_doc,
"counter_peaks(t: array('q'), v: array('q'), start: float, scale: float, width: int) -> [int] | None\n\n"
"Timeline.spark's values in C (rows.py's _peaks_py is the definition): per cell c < width, of\n"
"[start + c*scale, start + (c+1)*scale), the counter's value on entering it and the highest inside it.  At 10M\n"
"events a counter has ~200,000 samples: max() over each cell's slice was ~2 ms a row a frame.  None: times\n"
"too large to compare exactly in a double (the Python path then).");

static PyObject *
counter_peaks(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "counter_peaks(t, v, start, scale, width)");
        return NULL;
    }
    double start, scale;
    Py_ssize_t width;
    if (read_window(args + 2, &start, &scale, &width) < 0)
        return NULL;
    Py_buffer bt, bv;
    Py_ssize_t nt, nv;
    int h = hold_col(args[0], &bt, 'q', 'q', 0, &nt);
    if (h == 0 && (h = hold_col(args[1], &bv, 'q', 'q', 0, &nv)) != 0)
        PyBuffer_Release(&bt);
    if (h) {
        if (h > 0)
            PyErr_SetString(PyExc_TypeError, "counter_peaks: t and v are arrays of typecode 'q'");
        return NULL;
    }
    Py_ssize_t n = nt < nv ? nt : nv;  /* (the loader appends t, then v) */
    const int64_t *t = bt.buf, *v = bv.buf;
    int64_t *peaks = NULL;
    double lim = LIMIT;
    int exact = (n == 0 || ((double)t[0] > -lim && (double)t[n - 1] < lim)) && window_exact(start, scale, width);
    if (exact && (peaks = PyMem_RawMalloc((width ? width : 1) * sizeof(int64_t))) != NULL) {
        for (Py_ssize_t c = 0; c < width; c++) {
            double a = start + (double)c * scale, b = a + scale;
            Py_ssize_t lo = 0, hi = n;  /* lo = bisect_right(t, a) */
            while (lo < hi) {
                Py_ssize_t mid = (lo + hi) / 2;
                if (a < (double)t[mid])
                    hi = mid;
                else
                    lo = mid + 1;
            }
            hi = bisect_t(t, b, 0, n);
            int64_t value = lo > 0 ? v[lo - 1] : 0;
            for (Py_ssize_t i = lo; i < hi; i++)
                if (v[i] > value)
                    value = v[i];
            peaks[c] = value;
        }
    }
    PyBuffer_Release(&bt);
    PyBuffer_Release(&bv);
    if (!exact)
        Py_RETURN_NONE;
    if (peaks == NULL)
        return PyErr_NoMemory();
    PyObject *list = PyList_New(width);
    for (Py_ssize_t c = 0; list != NULL && c < width; c++) {
        PyObject *one = PyLong_FromLongLong(peaks[c]);
        if (one == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, c, one);
    }
    PyMem_RawFree(peaks);
    return list;
}

static PyMethodDef methods[] = {
    {"feed_events", (PyCFunction)(void (*)(void))feed_events, METH_FASTCALL, feed_events_doc},
    {"compact", (PyCFunction)compact, METH_O, compact_doc},
    {"fit", (PyCFunction)fit, METH_O, fit_doc},
    {"feed_block", (PyCFunction)(void (*)(void))feed_block, METH_FASTCALL, feed_block_doc},
    {"track_extend", (PyCFunction)(void (*)(void))track_extend, METH_FASTCALL, track_extend_doc},
    {"argsort", (PyCFunction)argsort, METH_O, argsort_doc},
    {"take", (PyCFunction)(void (*)(void))take, METH_FASTCALL, take_doc},
    {"bursts", (PyCFunction)(void (*)(void))bursts, METH_FASTCALL, bursts_doc},
    {"lifecycle_walk", (PyCFunction)(void (*)(void))lifecycle_walk, METH_FASTCALL, lifecycle_walk_doc},
    {"track_cells", (PyCFunction)(void (*)(void))track_cells, METH_FASTCALL, track_cells_doc},
    {"counter_peaks", (PyCFunction)(void (*)(void))counter_peaks, METH_FASTCALL, counter_peaks_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastread_module = {
    PyModuleDef_HEAD_INIT, "tracer.recording._fastread",
    "The reader's fast path for event lines, in C (optional; see tracer/recording/reader.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__fastread(void)
{
#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL
    INTERN(s_feed, "feed"); INTERN(s_rec, "rec"); INTERN(s_line_no, "line_no"); INTERN(s_lanes, "lanes");
    INTERN(s_trailer, "trailer"); INTERN(s_connections, "connections"); INTERN(s_n_events, "n_events");
    INTERN(s_t_max, "t_max"); INTERN(s_side, "side"); INTERN(s_client, "client"); INTERN(s_t, "t");
    INTERN(s_dur, "dur"); INTERN(s_kind, "kind"); INTERN(s_conn, "conn"); INTERN(s_count, "count");
    INTERN(s_lines, "lines"); INTERN(s_details, "details"); INTERN(s_sorted, "_sorted"); INTERN(s_end, "end");
    INTERN(s_frombytes, "frombytes"); INTERN(s_id, "id"); INTERN(s_pending, "_pending_connect");
    INTERN(s_unmatched, "_unmatched_accept"); INTERN(s_client_map, "_client_map"); INTERN(s_spots, "_client_spots");
    INTERN(s_index, "index"); INTERN(s_lane_index, "_lane_index"); INTERN(s_idx, "idx"); INTERN(s_vid, "vid");
    INTERN(s_n, "n"); INTERN(s_live, "live"); INTERN(s_dead, "dead"); INTERN(s_epoch, "epoch"); INTERN(s_cap, "cap");
    INTERN(s_far, "far"); INTERN(s_values, "value_table"); INTERN(s_ids, "ids"); INTERN(s_items, "items");
    INTERN(s_new, "new"); INTERN(s_unix, "unix:"); INTERN(s_from, " from "); INTERN(s_dense, "dense");
    INTERN(s_base, "base"); INTERN(s_counters, "counters"); INTERN(s_v, "v");
    INTERN(s_append, "append"); INTERN(s_sync, "sync"); INTERN(s_synced, "synced");
    INTERN(s_fast_details, "_fast_details");
    for (int k = 0; k < N_BUFS; k++)
        INTERN(col_str[k], COL_NAMES[k]);
    INTERN(s_cls, "cls"); INTERN(s_cum, "cum"); INTERN(s_inst, "inst"); INTERN(s_maxend, "maxend");
    INTERN(s_sums, "_sums"); INTERN(s_top, "_top"); INTERN(s_work, "work"); INTERN(s_life, "life"); INTERN(s_get, "get");
    INTERN(s_q, "q"); INTERN(s_i, "i"); INTERN(s_b, "b");
#undef INTERN
    for (int k = 0; k < N_KINDS; k++) {
        if ((Py_ssize_t)strlen(KIND_NAMES[k]) != KIND_LEN[k]) {
            PyErr_SetString(PyExc_SystemError, "_fastread: KIND_LEN does not match KIND_NAMES");
            return NULL;
        }
        if ((kind_str[k] = PyUnicode_InternFromString(KIND_NAMES[k])) == NULL)
            return NULL;
    }
    PyObject *array_mod = PyImport_ImportModule("array");
    if (array_mod == NULL)
        return NULL;
    array_type = PyObject_GetAttrString(array_mod, "array");
    Py_DECREF(array_mod);
    if (array_type == NULL || check_array_layout() < 0)
        return NULL;
    PyObject *m = PyModule_Create(&fastread_module);
    if (m == NULL)
        return NULL;
    PyObject *kinds = PyTuple_New(N_KINDS);
    if (kinds == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    for (int k = 0; k < N_KINDS; k++) {
        Py_INCREF(kind_str[k]);
        PyTuple_SET_ITEM(kinds, k, kind_str[k]);
    }
    if (PyModule_AddObject(m, "KINDS", kinds) < 0) { /* fastpath.py checks them against events.py's codes */
        Py_DECREF(kinds);
        Py_DECREF(m);
        return NULL;
    }
    PyObject *cols = PyTuple_New(N_COLS);
    if (cols == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    for (int k = 0; k < N_COLS; k++) {
        Py_INCREF(col_str[k]);
        PyTuple_SET_ITEM(cols, k, col_str[k]);
    }
    if (PyModule_AddObject(m, "COLUMNS", cols) < 0) { /* fastpath.py checks them against conntable.COLUMNS */
        Py_DECREF(cols);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "VERSION", FASTREAD_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
