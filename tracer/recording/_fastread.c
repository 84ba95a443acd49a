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
 * the two ends of a connection, the same Connection fields.  At the first
 * line of any other shape, or one that fails a check, it stops and returns
 * its index: Builder.feed() then reads that line the careful way (and raises
 * the error with its line number, or takes it).  So every error message is
 * the Python one, and the Python path is the definition of what a line means;
 * tests/test_fastread.py holds the two to the same model.
 *
 * Columns are appended in C buffers per lane and handed to the lane's arrays
 * with one frombytes() each when the call returns (or before it stops), so a
 * Recording is consistent whenever Python code runs.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifdef Py_GIL_DISABLED
/* Borrowed references from the builder's dicts are safe only under the GIL; a free-threaded build reads in Python. */
#error "tracer.recording._fastread needs the GIL: not built for a free-threaded Python"
#endif
#include <stdint.h>
#include <string.h>

#define FASTREAD_VERSION 1
#define MAX_INT (((int64_t)1) << 62)

/* kind names, in the codes of tracer/recording/events.py (checked at first use against KINDS) */
static const char *KIND_NAMES[] = {"listen", "accept", "submit", "start", "recv", "send", "close",
                                   "thread_start", "thread_exit", "select", "connect", "work"};
#define N_KINDS 12
enum { K_ACCEPT = 1, K_SUBMIT = 2, K_START = 3, K_RECV = 4, K_SEND = 5, K_CLOSE = 6, K_THREAD_START = 7,
       K_CONNECT = 10 };

static PyObject *kind_str[N_KINDS];
static PyObject *s_feed, *s_rec, *s_line_no, *s_lanes, *s_trailer, *s_connections, *s_n_events, *s_t_max, *s_side,
    *s_client, *s_t, *s_dur, *s_kind, *s_conn, *s_count, *s_lines, *s_details, *s_sorted, *s_end, *s_frombytes,
    *s_id, *s_pending, *s_unmatched, *s_client_map, *s_spots, *s_peer, *s_accept_t, *s_accepted_t,
    *s_accept_lane, *s_submit_t, *s_start_t, *s_serve_lane, *s_close_t, *s_close_reason, *s_connect_t,
    *s_connected_t, *s_client_lane, *s_client_close_t, *s_client_close_reason, *s_requests, *s_bytes_in,
    *s_bytes_out, *s_client_id;

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
    PyObject *lane_id;  /* owned: the lane's id (an int) */
    PyObject *details;  /* owned: lane.details */
    int client;
    Py_ssize_t base;    /* events in the lane's arrays when first touched */
    Py_ssize_t n;       /* events staged */
    int64_t last_t, end;
    int unsorted;       /* found out of order here */
    Buf t, dur, kind, conn, count, lines;
} Stage;

typedef struct {
    Stage *stages;
    int n, cap;
    PyObject *builder, *rec, *lanes, *connections, *connection_cls;
    PyObject *pending, *unmatched, *client_map, *spots;
    int64_t n_events, t_max;
} Ctx;

static void
stage_free(Stage *s)
{
    Py_XDECREF(s->lane);
    Py_XDECREF(s->lane_id);
    Py_XDECREF(s->details);
    PyMem_Free(s->t.data);
    PyMem_Free(s->dur.data);
    PyMem_Free(s->kind.data);
    PyMem_Free(s->conn.data);
    PyMem_Free(s->count.data);
    PyMem_Free(s->lines.data);
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

/* The lane's staging, made on first touch (reads its length, last start, end, side). */
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
    PyObject *t = NULL, *side = NULL, *end = NULL, *sorted = NULL;
    int ok = 1;
    if ((t = PyObject_GetAttr(lane, s_t)) == NULL || (side = PyObject_GetAttr(lane, s_side)) == NULL ||
        (end = PyObject_GetAttr(lane, s_end)) == NULL || (sorted = PyObject_GetAttr(lane, s_sorted)) == NULL)
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
    s->end = as_i64(end, &ok);
    if (!ok)
        goto fail;
    s->client = PyObject_RichCompareBool(side, s_client, Py_EQ);
    if (s->client < 0)
        goto fail;
    if ((s->lane_id = PyObject_GetAttr(lane, s_id)) == NULL || (s->details = PyObject_GetAttr(lane, s_details)) == NULL)
        goto fail;
    Py_INCREF(lane);
    s->lane = lane;
    c->n++;
    Py_DECREF(t);
    Py_DECREF(side);
    Py_DECREF(end);
    Py_DECREF(sorted);
    return s;
fail:
    Py_XDECREF(s->lane_id);
    Py_XDECREF(s->details);
    Py_XDECREF(t);
    Py_XDECREF(side);
    Py_XDECREF(end);
    Py_XDECREF(sorted);
    return NULL;
}

static int
append_bytes(PyObject *lane, PyObject *name, Buf *b)
{
    if (!b->len)
        return 0;
    PyObject *arr = PyObject_GetAttr(lane, name);
    if (arr == NULL)
        return -1;
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

/* Hand every staged column to its lane's arrays, and the counters to the recording. */
static int
flush(Ctx *c, Py_ssize_t line_no)
{
    int rc = 0;
    for (int i = 0; i < c->n; i++) {
        Stage *s = &c->stages[i];
        if (rc == 0 && (append_bytes(s->lane, s_t, &s->t) < 0 || append_bytes(s->lane, s_dur, &s->dur) < 0 ||
                        append_bytes(s->lane, s_kind, &s->kind) < 0 || append_bytes(s->lane, s_conn, &s->conn) < 0 ||
                        append_bytes(s->lane, s_count, &s->count) < 0 ||
                        append_bytes(s->lane, s_lines, &s->lines) < 0))
            rc = -1;
        if (rc == 0) {
            PyObject *end = PyLong_FromLongLong(s->end);
            if (end == NULL || PyObject_SetAttr(s->lane, s_end, end) < 0)
                rc = -1;
            Py_XDECREF(end);
        }
        if (rc == 0 && s->unsorted && PyObject_SetAttr(s->lane, s_sorted, Py_False) < 0)
            rc = -1;
        stage_free(s);
    }
    c->n = 0;
    PyObject *v;
    if (rc == 0) {
        v = PyLong_FromLongLong(c->n_events);
        if (v == NULL || PyObject_SetAttr(c->rec, s_n_events, v) < 0)
            rc = -1;
        Py_XDECREF(v);
    }
    if (rc == 0) {
        v = PyLong_FromLongLong(c->t_max);
        if (v == NULL || PyObject_SetAttr(c->rec, s_t_max, v) < 0)
            rc = -1;
        Py_XDECREF(v);
    }
    if (rc == 0) {
        v = PyLong_FromSsize_t(line_no);
        if (v == NULL || PyObject_SetAttr(c->builder, s_line_no, v) < 0)
            rc = -1;
        Py_XDECREF(v);
    }
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

/* An integer of 1-18 digits, optionally negative; leading zeros only where ``strict`` is 0. */
static const char *
parse_int(const char *p, const char *end, int64_t *out, int strict)
{
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    const char *start = p;
    int64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9' && p - start < 19) {
        v = v * 10 + (*p - '0');
        p++;
    }
    Py_ssize_t n = p - start;
    if (n == 0 || n > 18)
        return NULL;
    if (n > 1 && *start == '0') {
        if (strict)
            return NULL;
        leading_zero = 1;
    }
    *out = neg ? -v : v;
    return p;
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
    ln->kind = -1;
    for (int i = 0; i < N_KINDS; i++)
        if ((Py_ssize_t)strlen(KIND_NAMES[i]) == klen && memcmp(KIND_NAMES[i], k, klen) == 0) {
            ln->kind = i;
            break;
        }
    if (ln->kind < 0)
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
static int
set_int(PyObject *o, PyObject *name, int64_t v)
{
    PyObject *x = PyLong_FromLongLong(v);
    if (x == NULL)
        return -1;
    int rc = PyObject_SetAttr(o, name, x);
    Py_DECREF(x);
    return rc;
}

static int
is_none_attr(PyObject *o, PyObject *name)
{
    PyObject *x = PyObject_GetAttr(o, name);
    if (x == NULL)
        return -1;
    int r = x == Py_None;
    Py_DECREF(x);
    return r;
}

static int
add_int(PyObject *o, PyObject *name, int64_t v)
{
    PyObject *x = PyObject_GetAttr(o, name);
    if (x == NULL)
        return -1;
    PyObject *d = PyLong_FromLongLong(v);
    PyObject *sum = d ? PyNumber_Add(x, d) : NULL;
    Py_DECREF(x);
    Py_XDECREF(d);
    if (sum == NULL)
        return -1;
    int rc = PyObject_SetAttr(o, name, sum);
    Py_DECREF(sum);
    return rc;
}

/* str(detail) if detail is not None else None: a new reference */
static PyObject *
reason(PyObject *detail)
{
    if (detail == Py_None) {
        Py_INCREF(Py_None);
        return Py_None;
    }
    return PyObject_Str(detail);
}

/* Builder._client_conn: the id a client-side event is stored under. -1 on error (ids are never -1 on success? they can
   be: so the result goes to *out). */
static int
client_conn(Ctx *c, int64_t client_id, int kind, PyObject *detail, int64_t *out)
{
    PyObject *key = PyLong_FromLongLong(client_id);
    if (key == NULL)
        return -1;
    PyObject *known = PyDict_GetItemWithError(c->client_map, key);
    if (known != NULL) {
        int ok = 1;
        *out = as_i64(known, &ok);
        Py_DECREF(key);
        return ok ? 0 : -1;
    }
    if (PyErr_Occurred())
        goto fail;
    if (kind == K_CONNECT && PyUnicode_Check(detail)) {
        Py_ssize_t has = PyUnicode_FindChar(detail, ':', 0, PyUnicode_GET_LENGTH(detail), 1);
        if (has == -2)
            goto fail;
        if (has >= 0) {
            PyObject *server_id = PyDict_GetItemWithError(c->unmatched, detail);
            if (server_id != NULL) {
                Py_INCREF(server_id);
                int ok = 1;
                if (PyDict_DelItem(c->unmatched, detail) < 0 || PyDict_SetItem(c->client_map, key, server_id) < 0) {
                    Py_DECREF(server_id);
                    goto fail;
                }
                *out = as_i64(server_id, &ok);
                Py_DECREF(server_id);
                Py_DECREF(key);
                return ok ? 0 : -1;
            }
            if (PyErr_Occurred() || PyDict_SetItem(c->pending, detail, key) < 0)
                goto fail;
        }
    }
    Py_DECREF(key);
    *out = -client_id;
    return 0;
fail:
    Py_DECREF(key);
    return -1;
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

static PyObject *HALF_FIELDS[6];

/* Builder._match_accept */
static int
match_accept(Ctx *c, PyObject *server_key, int64_t server_id, PyObject *peer)
{
    if (!PyUnicode_Check(peer))
        return 0;
    PyObject *client_key = PyDict_GetItemWithError(c->pending, peer);
    if (client_key == NULL) {
        if (PyErr_Occurred())
            return -1;
        return PyDict_SetItem(c->unmatched, peer, server_key);
    }
    Py_INCREF(client_key);
    int rc = -1, ok = 1;
    PyObject *spots = NULL, *neg = NULL, *half = NULL;
    if (PyDict_DelItem(c->pending, peer) < 0 || PyDict_SetItem(c->client_map, client_key, server_key) < 0)
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
    int64_t client_id = as_i64(client_key, &ok);
    if (!ok || (neg = PyLong_FromLongLong(-client_id)) == NULL)
        goto done;
    half = PyDict_GetItemWithError(c->connections, neg);
    if (half != NULL) {
        Py_INCREF(half);
        if (PyDict_DelItem(c->connections, neg) < 0)
            goto done;
    }
    else if (PyErr_Occurred())
        goto done;
    PyObject *conn = PyDict_GetItemWithError(c->connections, server_key); /* borrowed */
    if (conn == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetObject(PyExc_KeyError, server_key);
        goto done;
    }
    if (half != NULL)
        for (int f = 0; f < 6; f++) {
            PyObject *x = PyObject_GetAttr(half, HALF_FIELDS[f]);
            if (x == NULL)
                goto done;
            int r = PyObject_SetAttr(conn, HALF_FIELDS[f], x);
            Py_DECREF(x);
            if (r < 0)
                goto done;
        }
    rc = 0;
done:
    Py_DECREF(client_key);
    Py_XDECREF(spots);
    Py_XDECREF(neg);
    Py_XDECREF(half);
    return rc;
}

/* Builder._connection */
static int
connection(Ctx *c, Stage *s, int64_t cid, const Line *ln, PyObject *detail)
{
    PyObject *key = PyLong_FromLongLong(cid);
    if (key == NULL)
        return -1;
    int rc = -1, r;
    PyObject *conn = PyDict_GetItemWithError(c->connections, key);
    if (conn != NULL)
        Py_INCREF(conn);
    else {
        if (PyErr_Occurred() || (conn = PyObject_CallOneArg(c->connection_cls, key)) == NULL ||
            PyDict_SetItem(c->connections, key, conn) < 0)
            goto done;
    }
    int64_t t = ln->t, dur = ln->dur;
    if (s->client) {
        if (ln->kind == K_CONNECT) {
            if (set_int(conn, s_connect_t, t) < 0 || set_int(conn, s_connected_t, t + dur) < 0 ||
                PyObject_SetAttr(conn, s_client_lane, s->lane_id) < 0)
                goto done;
            if (cid < 0 && set_int(conn, s_client_id, -cid) < 0)
                goto done;
        }
        else if (ln->kind == K_CLOSE) {
            PyObject *why = reason(detail);
            if (why == NULL)
                goto done;
            r = set_int(conn, s_client_close_t, t) < 0 || PyObject_SetAttr(conn, s_client_close_reason, why) < 0;
            Py_DECREF(why);
            if (r || (r = is_none_attr(conn, s_client_lane)) < 0 ||
                (r && PyObject_SetAttr(conn, s_client_lane, s->lane_id) < 0))
                goto done;
        }
        rc = 0;
        goto done;
    }
    switch (ln->kind) {
    case K_ACCEPT:
        if (set_int(conn, s_accept_t, t) < 0 || set_int(conn, s_accepted_t, t + dur) < 0 ||
            PyObject_SetAttr(conn, s_accept_lane, s->lane_id) < 0 ||
            PyObject_SetAttr(conn, s_peer, PyUnicode_Check(detail) ? detail : Py_None) < 0 ||
            match_accept(c, key, cid, detail) < 0)
            goto done;
        break;
    case K_SUBMIT:
        if (set_int(conn, s_submit_t, t) < 0)
            goto done;
        break;
    case K_START:
    case K_THREAD_START:
        if (set_int(conn, s_start_t, t) < 0 || PyObject_SetAttr(conn, s_serve_lane, s->lane_id) < 0)
            goto done;
        break;
    case K_RECV:
        if (ln->count > 0) {
            if (add_int(conn, s_bytes_in, ln->count) < 0 || (r = is_none_attr(conn, s_serve_lane)) < 0 ||
                (r && PyObject_SetAttr(conn, s_serve_lane, s->lane_id) < 0))
                goto done;
        }
        break;
    case K_SEND:
        if (ln->count > 0 && (add_int(conn, s_bytes_out, ln->count) < 0 || add_int(conn, s_requests, 1) < 0))
            goto done;
        break;
    case K_CLOSE: {
        PyObject *why = reason(detail);
        if (why == NULL)
            goto done;
        r = set_int(conn, s_close_t, t) < 0 || PyObject_SetAttr(conn, s_close_reason, why) < 0;
        Py_DECREF(why);
        if (r)
            goto done;
        break;
    }
    default:
        break;
    }
    rc = 0;
done:
    Py_DECREF(key);
    Py_XDECREF(conn);
    return rc;
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
    PyObject *lane_key = PyLong_FromLongLong(ln->lane);
    if (lane_key == NULL)
        return -1;
    PyObject *lane = PyDict_GetItemWithError(c->lanes, lane_key); /* borrowed */
    Py_DECREF(lane_key);
    if (lane == NULL)
        return PyErr_Occurred() ? -1 : 0;
    Stage *s = stage_for(c, lane);
    if (s == NULL)
        return -1;
    int64_t conn = ln->conn;
    if (s->client && conn < 0)
        return 0; /* the careful path says why */
    PyObject *detail = Py_None;
    Py_INCREF(detail);
    if (ln->has_detail) {
        Py_DECREF(detail);
        if (ln->detail_is_int)
            detail = PyLong_FromLongLong(ln->idetail);
        else {
            detail = PyUnicode_FromStringAndSize(ln->detail, ln->detail_len);
            if (detail != NULL)
                PyUnicode_InternInPlace(&detail); /* sys.intern, as the Python path: close reasons repeat */
        }
        if (detail == NULL)
            return -1;
    }
    int rc = -1;
    c->n_events++;
    if (ln->t + ln->dur > c->t_max)
        c->t_max = ln->t + ln->dur;
    if (s->client && conn && client_conn(c, conn, ln->kind, detail, &conn) < 0)
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
        PyObject *idx = PyLong_FromSsize_t(i);
        int r = idx ? PyDict_SetItem(s->details, idx, detail) : -1;
        Py_XDECREF(idx);
        if (r < 0)
            goto done;
    }
    if (s->client && conn < 0) { /* Builder._client_spots.setdefault(-conn, []).append((lane, i)) */
        PyObject *key = PyLong_FromLongLong(-conn);
        if (key == NULL)
            goto done;
        PyObject *list = PyDict_GetItemWithError(c->spots, key);
        if (list == NULL) {
            if (PyErr_Occurred() || (list = PyList_New(0)) == NULL || PyDict_SetItem(c->spots, key, list) < 0) {
                Py_XDECREF(list);
                Py_DECREF(key);
                goto done;
            }
            Py_DECREF(list); /* the dict holds it */
        }
        Py_DECREF(key);
        PyObject *spot = Py_BuildValue("(On)", lane, i);
        int r = spot ? PyList_Append(list, spot) : -1;
        Py_XDECREF(spot);
        if (r < 0)
            goto done;
    }
    if (conn && connection(c, s, conn, ln, detail) < 0)
        goto done;
    rc = 1;
done:
    Py_DECREF(detail);
    return rc;
}

/* ------------------------------------------------------------------ feed_events */

static int
ctx_open(Ctx *c, PyObject *builder, PyObject *connection_cls)
{
    memset(c, 0, sizeof(Ctx));
    c->builder = builder;
    c->connection_cls = connection_cls;
    int ok = 1;
    PyObject *n = NULL, *tm = NULL;
    if ((c->rec = PyObject_GetAttr(builder, s_rec)) == NULL || (c->lanes = PyObject_GetAttr(c->rec, s_lanes)) == NULL ||
        (c->connections = PyObject_GetAttr(c->rec, s_connections)) == NULL ||
        (c->pending = PyObject_GetAttr(builder, s_pending)) == NULL ||
        (c->unmatched = PyObject_GetAttr(builder, s_unmatched)) == NULL ||
        (c->client_map = PyObject_GetAttr(builder, s_client_map)) == NULL ||
        (c->spots = PyObject_GetAttr(builder, s_spots)) == NULL || (n = PyObject_GetAttr(c->rec, s_n_events)) == NULL ||
        (tm = PyObject_GetAttr(c->rec, s_t_max)) == NULL)
        ok = 0;
    if (ok && (!PyDict_CheckExact(c->lanes) || !PyDict_CheckExact(c->connections) || !PyDict_CheckExact(c->pending) ||
               !PyDict_CheckExact(c->unmatched) || !PyDict_CheckExact(c->client_map) ||
               !PyDict_CheckExact(c->spots))) {
        PyErr_SetString(PyExc_TypeError, "feed_events: the builder's tables are not plain dicts");
        ok = 0;
    }
    if (ok) {
        c->n_events = as_i64(n, &ok);
        if (ok)
            c->t_max = as_i64(tm, &ok);
    }
    Py_XDECREF(n);
    Py_XDECREF(tm);
    return ok ? 0 : -1;
}

static void
ctx_close(Ctx *c)
{
    for (int i = 0; i < c->n; i++)
        stage_free(&c->stages[i]);
    PyMem_Free(c->stages);
    Py_XDECREF(c->rec);
    Py_XDECREF(c->lanes);
    Py_XDECREF(c->connections);
    Py_XDECREF(c->pending);
    Py_XDECREF(c->unmatched);
    Py_XDECREF(c->client_map);
    Py_XDECREF(c->spots);
}

/* Builder.feed(line) for an object line, with the builder's line count in step: 1 go on, 0 a trailer came, -1 error */
static int
feed_object(Ctx *c, PyObject *line, Py_ssize_t *line_no)
{
    PyObject *v = PyLong_FromSsize_t(*line_no);
    if (v == NULL || PyObject_SetAttr(c->builder, s_line_no, v) < 0) {
        Py_XDECREF(v);
        return -1;
    }
    Py_DECREF(v);
    PyObject *r = PyObject_CallMethodOneArg(c->builder, s_feed, line);
    (*line_no)++; /* feed counts the line first, also one it then rejects */
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

PyDoc_STRVAR(feed_events_doc,
"feed_events(builder, lines, start, Connection) -> int\n\n"
"Take lines[start:] of the recorder's event shape into the builder (as Builder._add would) and return the index\n"
"of the first line it did not take (len(lines) if it took them all): the careful path reads that one.");

static PyObject *
feed_events(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "feed_events(builder, lines: list, start: int, Connection)");
        return NULL;
    }
    PyObject *builder = args[0], *lines = args[1];
    Py_ssize_t start = PyLong_AsSsize_t(args[2]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(lines), i = start;
    PyObject *v = PyObject_GetAttr(builder, s_line_no);
    if (v == NULL)
        return NULL;
    Py_ssize_t line_no = PyLong_AsSsize_t(v);
    Py_DECREF(v);
    if (line_no == -1 && PyErr_Occurred())
        return NULL;
    Ctx c;
    if (ctx_open(&c, builder, args[3]) < 0) {
        ctx_close(&c);
        return NULL;
    }
    PyObject *trailer = PyObject_GetAttr(c.rec, s_trailer);
    int go = trailer == Py_None && line_no >= 1; /* the header is the careful path's, and nothing follows a trailer */
    Py_XDECREF(trailer);
    if (trailer == NULL) {
        ctx_close(&c);
        return NULL;
    }
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
            /* a counter, mark, lane or trailer: Builder.feed reads it, and touches no lane's columns, so what is
               staged here stays staged (handing it over and picking the lanes up again costs ~0.3 ms a time) */
            int r = feed_object(&c, item, &line_no);
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
    if (err) { /* hand the staged events over all the same, keeping the error that stopped us */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (flush(&c, line_no) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, tb);
    }
    else if (flush(&c, line_no) < 0)
        err = 1;
    ctx_close(&c);
    if (err)
        return NULL;
    return PyLong_FromSsize_t(i);
}

static PyMethodDef methods[] = {
    {"feed_events", (PyCFunction)(void (*)(void))feed_events, METH_FASTCALL, feed_events_doc},
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
    INTERN(s_feed, "feed"); INTERN(s_rec, "rec"); INTERN(s_line_no, "line_no"); INTERN(s_lanes, "lanes"); INTERN(s_trailer, "trailer");
    INTERN(s_connections, "connections"); INTERN(s_n_events, "n_events"); INTERN(s_t_max, "t_max");
    INTERN(s_side, "side"); INTERN(s_client, "client"); INTERN(s_t, "t"); INTERN(s_dur, "dur");
    INTERN(s_kind, "kind"); INTERN(s_conn, "conn"); INTERN(s_count, "count"); INTERN(s_lines, "lines");
    INTERN(s_details, "details"); INTERN(s_sorted, "_sorted"); INTERN(s_end, "end"); INTERN(s_frombytes, "frombytes");
    INTERN(s_id, "id"); INTERN(s_pending, "_pending_connect"); INTERN(s_unmatched, "_unmatched_accept");
    INTERN(s_client_map, "_client_map"); INTERN(s_spots, "_client_spots"); INTERN(s_peer, "peer");
    INTERN(s_accept_t, "accept_t"); INTERN(s_accepted_t, "accepted_t"); INTERN(s_accept_lane, "accept_lane");
    INTERN(s_submit_t, "submit_t"); INTERN(s_start_t, "start_t"); INTERN(s_serve_lane, "serve_lane");
    INTERN(s_close_t, "close_t"); INTERN(s_close_reason, "close_reason"); INTERN(s_connect_t, "connect_t");
    INTERN(s_connected_t, "connected_t"); INTERN(s_client_lane, "client_lane");
    INTERN(s_client_close_t, "client_close_t"); INTERN(s_client_close_reason, "client_close_reason");
    INTERN(s_requests, "requests"); INTERN(s_bytes_in, "bytes_in"); INTERN(s_bytes_out, "bytes_out");
    INTERN(s_client_id, "client_id");
#undef INTERN
    HALF_FIELDS[0] = s_connect_t;
    HALF_FIELDS[1] = s_connected_t;
    HALF_FIELDS[2] = s_client_lane;
    HALF_FIELDS[3] = s_client_close_t;
    HALF_FIELDS[4] = s_client_close_reason;
    HALF_FIELDS[5] = s_client_id;
    for (int k = 0; k < N_KINDS; k++)
        if ((kind_str[k] = PyUnicode_InternFromString(KIND_NAMES[k])) == NULL)
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
    if (PyModule_AddObject(m, "KINDS", kinds) < 0) { /* reader.py checks them against events.py's codes */
        Py_DECREF(kinds);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "VERSION", FASTREAD_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
