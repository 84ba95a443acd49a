/* The exports' hot loops in C: one lane's events as Chrome JSON, CSV rows, or Perfetto packets.
 *
 * tracer/export/encode.py says when this is used; tracer/export/chrome.py, csvout.py and perfetto.py
 * hold the Python loops this mirrors byte for byte (tests/test_export_encode.py compares the two on
 * every shipped recording and on Hypothesis-made ones).  The columns are read through the buffer
 * protocol, whatever their integer typecode; anything else (a non-integer or strided buffer, a kind
 * code out of range) raises encode.Unsupported before a byte is written, and the caller falls back to
 * Python.  The rare extras are made in Python: a lane's details as its own (index, value number) columns
 * over a table of the encoded values, flows as bytes at their indices.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define ENCODE_VERSION 3

static PyObject *Unsupported;

/* ------------------------------------------------------------------ columns */
typedef struct {
    Py_buffer view;
    const char *p;
    Py_ssize_t n;
    int size;
    int sgn;
    int held;
} Col;

static int col_open(PyObject *o, Col *c, const char *what) {
    c->held = 0;
    if (PyObject_GetBuffer(o, &c->view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyErr_Clear();
        PyErr_Format(Unsupported, "%s: not a contiguous buffer", what);
        return -1;
    }
    c->held = 1;
    const char *f = c->view.format ? c->view.format : "B";
    if (*f == '@' || *f == '=') f++;
    int ok = f[0] && !f[1] && c->view.ndim <= 1;
    int size = 0, sgn = 0;
    if (ok) {
        switch (f[0]) {
        case 'b': size = 1; sgn = 1; break;
        case 'B': size = 1; break;
        case 'h': size = 2; sgn = 1; break;
        case 'H': size = 2; break;
        case 'i': size = sizeof(int); sgn = 1; break;
        case 'I': size = sizeof(int); break;
        case 'l': size = sizeof(long); sgn = 1; break;
        case 'L': size = sizeof(long); break;
        case 'q': size = 8; sgn = 1; break;
        case 'Q': size = 8; break;
        default: ok = 0;
        }
    }
    if (!ok || size != c->view.itemsize || (size != 1 && size != 2 && size != 4 && size != 8)) {
        PyErr_Format(Unsupported, "%s: format %s is not an integer column", what, f);
        return -1;
    }
    c->p = (const char *)c->view.buf;
    c->n = c->view.len / size;
    c->size = size;
    c->sgn = sgn;
    return 0;
}

static void col_close(Col *c) {
    if (c->held) PyBuffer_Release(&c->view);
    c->held = 0;
}

/* A value that does not fit in int64 (a 'Q' above 2**63) is refused by col_check, so this never wraps. */
static inline int64_t col_at(const Col *c, Py_ssize_t i) {
    const char *p = c->p + i * c->size;
    switch (c->size) {
    case 1: return c->sgn ? (int64_t)*(const int8_t *)p : (int64_t)*(const uint8_t *)p;
    case 2: { int16_t v; uint16_t u; if (c->sgn) { memcpy(&v, p, 2); return v; } memcpy(&u, p, 2); return u; }
    case 4: { int32_t v; uint32_t u; if (c->sgn) { memcpy(&v, p, 4); return v; } memcpy(&u, p, 4); return u; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
    }
}

static int col_check_u64(const Col *c, Py_ssize_t a, Py_ssize_t b, const char *what) {
    if (c->size == 8 && !c->sgn) {
        for (Py_ssize_t i = a; i < b; i++)
            if (col_at(c, i) < 0) {
                PyErr_Format(Unsupported, "%s: a value above 2**63", what);
                return -1;
            }
    }
    return 0;
}

/* ------------------------------------------------------------------ output */
typedef struct {
    char *p;
    size_t len, cap;
} Buf;

static int buf_grow(Buf *b, size_t more) {
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + more) cap *= 2;
    char *p = PyMem_Realloc(b->p, cap);
    if (!p) { PyErr_NoMemory(); return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

#define PUT(b, s, n) do { memcpy((b)->p + (b)->len, (s), (n)); (b)->len += (n); } while (0)
#define PUTC(b, ch) ((b)->p[(b)->len++] = (char)(ch))

/* Python's floor division and modulo, so negative numbers print as "%d.%03d" % divmod(n, 1000) does. */
static inline int64_t floor_div(int64_t n, int64_t d) { int64_t q = n / d; if ((n % d) && ((n < 0) != (d < 0))) q--; return q; }
static inline int64_t floor_mod(int64_t n, int64_t d) { int64_t r = n % d; if (r && ((r < 0) != (d < 0))) r += d; return r; }

static inline void put_int(Buf *b, int64_t v) {
    char tmp[24];
    int k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do { tmp[k++] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) PUTC(b, '-');
    while (k) PUTC(b, tmp[--k]);
}

/* "%d.%03d" % divmod(ns, 1000) */
static inline void put_us(Buf *b, int64_t ns) {
    int64_t q = floor_div(ns, 1000), r = floor_mod(ns, 1000);
    put_int(b, q);
    PUTC(b, '.');
    PUTC(b, '0' + r / 100);
    PUTC(b, '0' + r / 10 % 10);
    PUTC(b, '0' + r % 10);
}

static inline void put_varint(Buf *b, uint64_t n) {
    while (n >= 0x80) { PUTC(b, (n & 0x7F) | 0x80); n >>= 7; }
    PUTC(b, n);
}

static inline size_t varint_len(uint64_t n) {
    size_t k = 1;
    while (n >= 0x80) { n >>= 7; k++; }
    return k;
}

/* Hand the buffer to write() as str (text=1, decoded from UTF-8) or as a one-item list of bytes. */
static int flush(Buf *b, PyObject *write, int text) {
    PyObject *chunk = text ? PyUnicode_DecodeUTF8(b->p ? b->p : "", (Py_ssize_t)b->len, "strict")
                           : PyBytes_FromStringAndSize(b->p ? b->p : "", (Py_ssize_t)b->len);
    if (!chunk) return -1;
    PyObject *arg = chunk;
    if (!text) {
        arg = PyList_New(1);
        if (!arg) { Py_DECREF(chunk); return -1; }
        PyList_SET_ITEM(arg, 0, chunk);
    }
    PyObject *r = PyObject_CallOneArg(write, arg);
    Py_DECREF(arg);
    if (!r) return -1;
    Py_DECREF(r);
    b->len = 0;
    return 0;
}

/* ------------------------------------------------------------------ extras and the slice stack */
/* Extras: a sorted column of event indices and, per index, a bytes object (or two). */
typedef struct {
    Col idx;
    PyObject *a, *b; /* lists of bytes, parallel to idx (b may be NULL) */
    Py_ssize_t k;
} Extras;

static int extras_open(Extras *e, PyObject *idx, PyObject *a, PyObject *b) {
    e->a = a;
    e->b = b;
    e->k = 0;
    if (col_open(idx, &e->idx, "extra indices") < 0) return -1;
    if (!PyList_Check(a) || PyList_GET_SIZE(a) != e->idx.n || (b && (!PyList_Check(b) || PyList_GET_SIZE(b) != e->idx.n))) {
        PyErr_SetString(Unsupported, "extras: lists of the indices' length wanted");
        return -1;
    }
    for (Py_ssize_t i = 0; i < e->idx.n; i++)
        if (!PyBytes_Check(PyList_GET_ITEM(a, i)) || (b && !PyBytes_Check(PyList_GET_ITEM(b, i)))) {
            PyErr_SetString(Unsupported, "extras: bytes wanted");
            return -1;
        }
    return 0;
}

/* The extra at index i, if any (calls come with i increasing). */
static inline Py_ssize_t extras_at(Extras *e, Py_ssize_t i) {
    while (e->k < e->idx.n && col_at(&e->idx, e->k) < i) e->k++;
    if (e->k < e->idx.n && col_at(&e->idx, e->k) == i) return e->k;
    return -1;
}

/* A lane's details: its index and value-number columns (model.Details.idx/vid, renumbered per lane) and
 * the encoded values (bytes), one per number. */
typedef struct {
    Col idx, vid;
    PyObject *table;
    Py_ssize_t k;
} Dets;

static int dets_open(Dets *d, PyObject *idx, PyObject *vid, PyObject *table) {
    d->table = table;
    d->k = 0;
    if (col_open(idx, &d->idx, "detail indices") < 0 || col_open(vid, &d->vid, "detail values") < 0) return -1;
    if (!PyList_Check(table) || d->vid.n != d->idx.n) {
        PyErr_SetString(Unsupported, "details: a list, and as many values as indices, wanted");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(table);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyBytes_Check(PyList_GET_ITEM(table, i))) { PyErr_SetString(Unsupported, "details: bytes wanted"); return -1; }
    for (Py_ssize_t k = 0; k < d->vid.n; k++) {
        int64_t v = col_at(&d->vid, k);
        if (v < 0 || v >= n) { PyErr_SetString(Unsupported, "details: a value number out of range"); return -1; }
    }
    return 0;
}

/* The detail of event i (bytes), or NULL (calls come with i increasing). */
static inline PyObject *dets_at(Dets *d, Py_ssize_t i) {
    if (!d->idx.n) return NULL;
    while (d->k < d->idx.n && col_at(&d->idx, d->k) < i) d->k++;
    if (d->k < d->idx.n && col_at(&d->idx, d->k) == i) return PyList_GET_ITEM(d->table, col_at(&d->vid, d->k));
    return NULL;
}

typedef struct {
    int64_t *v;
    Py_ssize_t n, cap;
} Stack;

static int stack_push(Stack *s, int64_t x) {
    if (s->n == s->cap) {
        Py_ssize_t cap = s->cap ? s->cap * 2 : 64;
        int64_t *v = PyMem_Realloc(s->v, cap * sizeof(int64_t));
        if (!v) { PyErr_NoMemory(); return -1; }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

/* The lane's six columns, in the model's order. */
#define N_COLS 6
static const char *COL_NAMES[N_COLS] = {"t", "dur", "kind", "conn", "count", "lines"};

static int cols_open(PyObject *const *objs, Col *cols, int n, Py_ssize_t a, Py_ssize_t b) {
    for (int j = 0; j < n; j++) cols[j].held = 0;
    for (int j = 0; j < n; j++) {
        if (col_open(objs[j], &cols[j], COL_NAMES[j]) < 0) return -1;
        if (cols[j].n < b) {
            PyErr_Format(Unsupported, "%s: shorter than the lane", COL_NAMES[j]);
            return -1;
        }
        if (col_check_u64(&cols[j], a, b, COL_NAMES[j]) < 0) return -1;
    }
    return 0;
}

static int kinds_ok(const Col *kind, Py_ssize_t a, Py_ssize_t b, Py_ssize_t n_kinds) {
    for (Py_ssize_t i = a; i < b; i++) {
        int64_t code = col_at(kind, i);
        if (code < 0 || code >= n_kinds) {
            PyErr_Format(Unsupported, "kind code %lld out of range", (long long)code);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ Chrome JSON */
PyDoc_STRVAR(chrome_lane_doc,
"chrome_lane(t, dur, kind, conn, count, lines, a, b, lo, hi, x_head, i_head, cat, names, marks,\n"
"            detail_idx, detail_vid, details, flow_idx, flows, write, batch) -> (events, clipped)\n\n"
"tracer/export/chrome.py's _lane loop: events [a, b) as X/i trace events joined by ',\\n', handed to\n"
"write() (a str) every ``batch`` events.  x_head/i_head: the UTF-8 start of an X/i event up to its ts;\n"
"cat: '\",\"cat\":\"SIDE\",\"args\":{'; names: each kind's name (bytes); marks: a byte per kind (1: a\n"
"mark); detail_idx (sorted) and detail_vid: the lane's details as numbers in details (each\n"
"',\"detail\":VALUE', bytes); flow_idx (sorted), flows (bytes): the flows' fields at those indices.");

static PyObject *chrome_lane(PyObject *self, PyObject *args) {
    PyObject *objs[N_COLS], *names, *didx_o, *dvid_o, *det_o, *fidx_o, *flow_o, *write;
    Py_ssize_t a, b, batch;
    long long lo, hi;
    const char *x_head, *i_head, *cat, *marks;
    Py_ssize_t x_len, i_len, cat_len, n_marks;
    if (!PyArg_ParseTuple(args, "OOOOOOnnLLy#y#y#O!y#OOOOOOn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &a, &b, &lo, &hi, &x_head, &x_len, &i_head, &i_len, &cat, &cat_len,
                          &PyList_Type, &names, &marks, &n_marks, &didx_o, &dvid_o, &det_o, &fidx_o, &flow_o, &write,
                          &batch))
        return NULL;
    Col cols[N_COLS];
    Extras ex;
    Dets dt;
    ex.idx.held = dt.idx.held = dt.vid.held = 0;
    Buf out = {0};
    Stack st = {0};
    PyObject *result = NULL;
    Py_ssize_t n_kinds = PyList_GET_SIZE(names);
    if (n_marks < n_kinds) n_kinds = n_marks;
    for (Py_ssize_t k = 0; k < n_kinds; k++)
        if (!PyBytes_Check(PyList_GET_ITEM(names, k))) { PyErr_SetString(Unsupported, "names: bytes wanted"); return NULL; }
    if (a < 0 || b < a) { PyErr_SetString(Unsupported, "a bad range"); return NULL; }
    if (cols_open(objs, cols, N_COLS, a, b) < 0) goto done;
    if (kinds_ok(&cols[2], a, b, n_kinds) < 0) goto done;
    if (dets_open(&dt, didx_o, dvid_o, det_o) < 0 || extras_open(&ex, fidx_o, flow_o, NULL) < 0) goto done;
    if (batch < 1) batch = 1;
    Py_ssize_t n = 0, clipped = 0, pending = 0;
    for (Py_ssize_t i = a; i < b; i++) {
        int64_t t = col_at(&cols[0], i), d = col_at(&cols[1], i);
        int64_t end = t + d;
        if (end < lo) continue;
        int64_t start = t > lo ? t : lo, stop = end < hi ? end : hi;
        while (st.n && st.v[st.n - 1] <= start) st.n--;
        int is_clipped = 0;
        if (st.n && stop > st.v[st.n - 1]) { stop = st.v[st.n - 1]; clipped++; }
        if (start != t || stop != end) is_clipped = 1;
        int code = (int)col_at(&cols[2], i);
        int64_t c = col_at(&cols[3], i), k = col_at(&cols[4], i), line = col_at(&cols[5], i);
        Py_ssize_t e = ex.idx.n ? extras_at(&ex, i) : -1;
        PyObject *det = dets_at(&dt, i), *flow = e >= 0 ? PyList_GET_ITEM(ex.a, e) : NULL;
        Py_ssize_t det_len = det ? PyBytes_GET_SIZE(det) : 0, flow_len = flow ? PyBytes_GET_SIZE(flow) : 0;
        PyObject *name = PyList_GET_ITEM(names, code);
        Py_ssize_t name_len = PyBytes_GET_SIZE(name);
        if (buf_grow(&out, 2 + (size_t)(x_len > i_len ? x_len : i_len) + 2 * 24 + 32 + name_len + cat_len
                     + 3 * 24 + 40 + det_len + flow_len + 4) < 0) goto done;
        if (pending) { PUTC(&out, ','); PUTC(&out, '\n'); }
        int instant = stop == start && marks[code] && !flow_len;
        PUT(&out, instant ? i_head : x_head, (size_t)(instant ? i_len : x_len));
        put_us(&out, start);
        PUTC(&out, '5');
        if (!instant) {
            PUT(&out, ",\"dur\":", 7);
            put_us(&out, stop - start);
            PUTC(&out, '5');
        }
        PUT(&out, ",\"name\":\"", 9);
        PUT(&out, PyBytes_AS_STRING(name), (size_t)name_len);
        PUT(&out, cat, (size_t)cat_len);
        PUT(&out, "\"line\":", 7);
        put_int(&out, line);
        if (is_clipped) PUT(&out, ",\"clipped\":true", 15);
        if (c) { PUT(&out, ",\"conn\":", 8); put_int(&out, c); }
        if (k >= 0) { PUT(&out, ",\"count\":", 9); put_int(&out, k); }
        if (det_len) PUT(&out, PyBytes_AS_STRING(det), (size_t)det_len);
        PUTC(&out, '}');
        if (!instant) {
            if (flow_len) PUT(&out, PyBytes_AS_STRING(flow), (size_t)flow_len);
            if (stack_push(&st, stop) < 0) goto done;
        }
        PUTC(&out, '}');
        n++;
        if (++pending >= batch) {
            if (flush(&out, write, 1) < 0) goto done;
            pending = 0;
        }
    }
    if (pending && flush(&out, write, 1) < 0) goto done;
    result = Py_BuildValue("nn", n, clipped);
done:
    for (int j = 0; j < N_COLS; j++) col_close(&cols[j]);
    col_close(&ex.idx);
    col_close(&dt.idx);
    col_close(&dt.vid);
    PyMem_Free(out.p);
    PyMem_Free(st.v);
    return result;
}

/* ------------------------------------------------------------------ CSV */
PyDoc_STRVAR(csv_rows_doc,
"csv_rows(lanes, names, moved, write, batch) -> rows\n\n"
"tracer/export/csvout.py's rows, every lane's merged in start order (ties: lane order, then index), as\n"
"its 64 windows and stable sort give them; handed to write() (a str) every ``batch`` rows.  lanes: per\n"
"lane (t, dur, kind, conn, count, lines, a, b, skip, detail_idx, detail_vid, details, tail, side), skip\n"
"and detail_idx sorted index columns, detail_vid each detail's number in details (the quoted fields,\n"
"bytes), tail ',ID,NAME,' and side\n"
"',SIDE,' (bytes); names: each kind's quoted name (bytes); moved: a byte per kind (1: count is bytes).");

typedef struct {
    Col cols[N_COLS];
    Col skip;
    Dets det;
    Py_ssize_t i, b, order;
    const char *tail, *side;
    Py_ssize_t tail_len, side_len;
} CsvLane;

static inline int csv_less(const CsvLane *x, const CsvLane *y) {
    int64_t tx = col_at(&x->cols[0], x->i), ty = col_at(&y->cols[0], y->i);
    return tx < ty || (tx == ty && x->order < y->order);
}

static void heap_down(CsvLane **h, Py_ssize_t n, Py_ssize_t k) {
    for (;;) {
        Py_ssize_t l = 2 * k + 1, m = k;
        if (l < n && csv_less(h[l], h[m])) m = l;
        if (l + 1 < n && csv_less(h[l + 1], h[m])) m = l + 1;
        if (m == k) return;
        CsvLane *tmp = h[k]; h[k] = h[m]; h[m] = tmp;
        k = m;
    }
}

static PyObject *csv_rows(PyObject *self, PyObject *args) {
    PyObject *lanes, *names, *write;
    const char *moved;
    Py_ssize_t n_moved, batch;
    if (!PyArg_ParseTuple(args, "O!O!y#On", &PyList_Type, &lanes, &PyList_Type, &names, &moved, &n_moved, &write,
                          &batch))
        return NULL;
    Py_ssize_t nl = PyList_GET_SIZE(lanes), n_kinds = PyList_GET_SIZE(names), opened = 0;
    if (n_moved < n_kinds) n_kinds = n_moved;
    for (Py_ssize_t k = 0; k < n_kinds; k++)
        if (!PyBytes_Check(PyList_GET_ITEM(names, k))) { PyErr_SetString(Unsupported, "names: bytes wanted"); return NULL; }
    CsvLane *ls = PyMem_Calloc(nl ? nl : 1, sizeof(CsvLane));
    CsvLane **heap = PyMem_Calloc(nl ? nl : 1, sizeof(CsvLane *));
    Buf out = {0};
    PyObject *result = NULL;
    if (!ls || !heap) { PyErr_NoMemory(); goto done; }
    Py_ssize_t nh = 0;
    for (Py_ssize_t j = 0; j < nl; j++) {
        PyObject *tup = PyList_GET_ITEM(lanes, j), *objs[N_COLS], *skip, *didx, *dvid, *dets;
        CsvLane *L = &ls[j];
        L->skip.held = L->det.idx.held = L->det.vid.held = 0;
        for (int c = 0; c < N_COLS; c++) L->cols[c].held = 0;
        opened = j + 1;
        if (!PyArg_ParseTuple(tup, "OOOOOOnnOOOOy#y#", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                              &L->i, &L->b, &skip, &didx, &dvid, &dets, &L->tail, &L->tail_len, &L->side,
                              &L->side_len))
            goto done;
        L->order = j;
        if (L->i < 0 || L->b < L->i) { PyErr_SetString(Unsupported, "a bad range"); goto done; }
        if (cols_open(objs, L->cols, N_COLS, L->i, L->b) < 0) goto done;
        if (kinds_ok(&L->cols[2], L->i, L->b, n_kinds) < 0) goto done;
        if (col_open(skip, &L->skip, "skip") < 0) goto done;
        if (dets_open(&L->det, didx, dvid, dets) < 0) goto done;
        if (L->i < L->b) heap[nh++] = L;
    }
    for (Py_ssize_t k = nh / 2 - 1; k >= 0; k--) heap_down(heap, nh, k);
    Py_ssize_t n = 0, pending = 0;
    if (batch < 1) batch = 1;
    while (nh) {
        CsvLane *L = heap[0];
        Py_ssize_t i = L->i;
        int skipped = 0;
        if (L->skip.n) {  /* skip is sorted: a pointer that moves forward, as the extras' */
            while (L->skip.n && col_at(&L->skip, 0) < i) { L->skip.p += L->skip.size; L->skip.n--; }
            if (L->skip.n && col_at(&L->skip, 0) == i) skipped = 1;
        }
        if (!skipped) {
            int64_t t = col_at(&L->cols[0], i), d = col_at(&L->cols[1], i);
            int code = (int)col_at(&L->cols[2], i);
            int64_t c = col_at(&L->cols[3], i), k = col_at(&L->cols[4], i), line = col_at(&L->cols[5], i);
            PyObject *name = PyList_GET_ITEM(names, code);
            PyObject *det = dets_at(&L->det, i);
            Py_ssize_t det_len = det ? PyBytes_GET_SIZE(det) : 0;
            if (buf_grow(&out, 6 * 24 + 8 + PyBytes_GET_SIZE(name) + L->tail_len + L->side_len + det_len) < 0) goto done;
            put_us(&out, t);
            PUTC(&out, ',');
            put_us(&out, d);
            PUTC(&out, ',');
            PUT(&out, PyBytes_AS_STRING(name), (size_t)PyBytes_GET_SIZE(name));
            PUT(&out, L->tail, (size_t)L->tail_len);
            if (c) put_int(&out, c);
            PUTC(&out, ',');
            if (k >= 0 && moved[code]) put_int(&out, k);
            PUTC(&out, ',');
            if (k >= 0 && !moved[code]) put_int(&out, k);
            PUTC(&out, ',');
            if (det_len) PUT(&out, PyBytes_AS_STRING(det), (size_t)det_len);
            PUT(&out, L->side, (size_t)L->side_len);
            put_int(&out, line);
            PUTC(&out, '\r');
            PUTC(&out, '\n');
            n++;
            if (++pending >= batch) {
                if (flush(&out, write, 1) < 0) goto done;
                pending = 0;
            }
        }
        if (++L->i >= L->b) heap[0] = heap[--nh];
        if (nh) heap_down(heap, nh, 0);
    }
    if (pending && flush(&out, write, 1) < 0) goto done;
    result = PyLong_FromSsize_t(n);
done:
    if (ls) {
        for (Py_ssize_t j = 0; j < opened; j++) {
            for (int c = 0; c < N_COLS; c++) col_close(&ls[j].cols[c]);
            col_close(&ls[j].skip);
            col_close(&ls[j].det.idx);
            col_close(&ls[j].det.vid);
        }
    }
    PyMem_Free(ls);
    PyMem_Free(heap);
    PyMem_Free(out.p);
    return result;
}

/* ------------------------------------------------------------------ Perfetto TrackEvent packets */
PyDoc_STRVAR(perfetto_lane_doc,
"perfetto_lane(t, dur, kind, conn, count, a, b, lo, hi, seq, marks, detail_idx, detail_vid, details,\n"
"              flow_idx, flows, first, write, batch)\n"
"    -> events\n\n"
"tracer/export/perfetto.py's _lane loop: events [a, b) as slice begin/end and instant packets on\n"
"sequence ``seq``, after the packet ``first``; handed to write() (a list of one bytes) each time the\n"
"batch holds ``batch`` packets or more after an event's, and once at the end (as the Python loop\n"
"does: the compressed chunks are cut at the same places).  marks: a byte per kind (1: a mark);\n"
"detail_idx (sorted), detail_vid: the details as numbers in details (annotations, bytes); flow_idx\n"
"(sorted), flows (bytes): the flow fields at those indices.");

static inline void put_end(Buf *out, int64_t delta, uint64_t seq) {
    /* packet(0x40 varint(delta) + 0x50 varint(seq) 0x68 0x02 + 0x5a 0x02 0x48 0x02) */
    size_t inner = 1 + varint_len((uint64_t)delta) + 1 + varint_len(seq) + 2 + 4;
    PUTC(out, 0x0A);
    put_varint(out, inner);
    PUTC(out, 0x40);
    put_varint(out, (uint64_t)delta);
    PUTC(out, 0x50);
    put_varint(out, seq);
    PUTC(out, 0x68); PUTC(out, 0x02);
    PUTC(out, 0x5A); PUTC(out, 0x02); PUTC(out, 0x48); PUTC(out, 0x02);
}

static PyObject *perfetto_lane(PyObject *self, PyObject *args) {
    PyObject *objs[N_COLS], *didx_o, *dvid_o, *det_o, *idx_o, *ext_o, *write;
    Py_ssize_t a, b, batch;
    long long lo, hi;
    unsigned long long seq;
    const char *marks, *first;
    Py_ssize_t n_kinds, first_len;
    if (!PyArg_ParseTuple(args, "OOOOOnnLLKy#OOOOOy#On", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &a, &b,
                          &lo, &hi, &seq, &marks, &n_kinds, &didx_o, &dvid_o, &det_o, &idx_o, &ext_o, &first,
                          &first_len, &write, &batch))
        return NULL;
    Col cols[N_COLS];
    Extras ex;
    Dets dt;
    ex.idx.held = dt.idx.held = dt.vid.held = 0;
    Buf out = {0};
    Stack st = {0};
    PyObject *result = NULL;
    if (a < 0 || b < a) { PyErr_SetString(Unsupported, "a bad range"); return NULL; }
    if (cols_open(objs, cols, N_COLS - 1, a, b) < 0) goto done;
    if (kinds_ok(&cols[2], a, b, n_kinds) < 0) goto done;
    if (dets_open(&dt, didx_o, dvid_o, det_o) < 0 || extras_open(&ex, idx_o, ext_o, NULL) < 0) goto done;
    if (batch < 1) batch = 1;
    size_t seq_len = varint_len(seq);
    if (buf_grow(&out, (size_t)first_len) < 0) goto done;
    PUT(&out, first, (size_t)first_len);
    Py_ssize_t parts = 1, n = 0;
    int64_t last = 0;
    for (Py_ssize_t i = a; i < b; i++) {
        int64_t t = col_at(&cols[0], i), d = col_at(&cols[1], i);
        int64_t end = t + d;
        if (end < lo) continue;
        int64_t start = t > lo ? t : lo, stop = end < hi ? end : hi;
        while (st.n && st.v[st.n - 1] <= start) {
            int64_t e = st.v[--st.n];
            if (buf_grow(&out, 40) < 0) goto done;
            put_end(&out, e - last, seq);
            parts++;
            last = e;
        }
        if (st.n && stop > st.v[st.n - 1]) stop = st.v[st.n - 1];
        int code = (int)col_at(&cols[2], i);
        int64_t c = col_at(&cols[3], i), k = col_at(&cols[4], i);
        Py_ssize_t e = ex.idx.n ? extras_at(&ex, i) : -1;
        PyObject *extra = e >= 0 ? PyList_GET_ITEM(ex.a, e) : NULL, *det = dets_at(&dt, i);
        Py_ssize_t extra_len = extra ? PyBytes_GET_SIZE(extra) : 0, det_len = det ? PyBytes_GET_SIZE(det) : 0;
        /* body: name iid, conn and count annotations, the extras, the type */
        size_t body = 1 + varint_len((uint64_t)code + 1);
        if (c) body += 5 + varint_len((uint64_t)c);
        if (k >= 0) body += 5 + varint_len((uint64_t)k);
        body += (size_t)det_len + (size_t)extra_len + 2;
        int64_t delta = start - last;
        size_t inner = 1 + varint_len((uint64_t)delta) + 1 + seq_len + 2 + 1 + varint_len(body) + body;
        if (buf_grow(&out, 12 + inner) < 0) goto done;
        PUTC(&out, 0x0A);
        put_varint(&out, inner);
        PUTC(&out, 0x40);
        put_varint(&out, (uint64_t)delta);
        PUTC(&out, 0x50);
        put_varint(&out, seq);
        PUTC(&out, 0x68); PUTC(&out, 0x02);
        PUTC(&out, 0x5A);
        put_varint(&out, body);
        PUTC(&out, 0x50);
        put_varint(&out, (uint64_t)code + 1);
        if (c) {
            PUTC(&out, 0x22);
            PUTC(&out, 3 + varint_len((uint64_t)c));
            PUTC(&out, 0x08); PUTC(&out, 0x01); PUTC(&out, 0x20);
            put_varint(&out, (uint64_t)c);
        }
        if (k >= 0) {
            PUTC(&out, 0x22);
            PUTC(&out, 3 + varint_len((uint64_t)k));
            PUTC(&out, 0x08); PUTC(&out, 0x02); PUTC(&out, 0x20);
            put_varint(&out, (uint64_t)k);
        }
        if (det_len) PUT(&out, PyBytes_AS_STRING(det), (size_t)det_len);
        if (extra_len) PUT(&out, PyBytes_AS_STRING(extra), (size_t)extra_len);
        int instant = stop == start && marks[code];
        PUTC(&out, 0x48);
        PUTC(&out, instant ? 0x03 : 0x01);
        last = start;
        if (!instant && stack_push(&st, stop) < 0) goto done;
        n++;
        if (++parts >= batch) {
            if (flush(&out, write, 0) < 0) goto done;
            parts = 0;
        }
    }
    while (st.n) {
        int64_t e = st.v[--st.n];
        if (buf_grow(&out, 40) < 0) goto done;
        put_end(&out, e - last, seq);
        last = e;
    }
    if (flush(&out, write, 0) < 0) goto done;
    result = PyLong_FromSsize_t(n);
done:
    for (int j = 0; j < N_COLS - 1; j++) col_close(&cols[j]);
    col_close(&ex.idx);
    col_close(&dt.idx);
    col_close(&dt.vid);
    PyMem_Free(out.p);
    PyMem_Free(st.v);
    return result;
}

/* ------------------------------------------------------------------ SVG columns */
PyDoc_STRVAR(svg_columns_doc,
"svg_columns(t, dur, kind, a, b, lo, hi, scale, plot_w, marks) -> (n, cover, starts, first, marks, wide)\n\n"
"tracer/export/svg.py's _columns loop over events [a, b) of a lane (those ending before lo skipped):\n"
"the same lists, dict and tuples, the same floats added in the same order.  marks: a byte per kind\n"
"(1: an instant, a tick).");

/* The floats must be rounded as Python rounds them, one operation at a time: no fused multiply-add. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#define NO_CONTRACT
#elif defined(__GNUC__)
#define NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define NO_CONTRACT
#endif

NO_CONTRACT static PyObject *svg_columns(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    Py_ssize_t a, b, plot_w;
    long long lo, hi;
    double scale;
    const char *marks;
    Py_ssize_t n_kinds;
    if (!PyArg_ParseTuple(args, "OOOnnLLdny#", &objs[0], &objs[1], &objs[2], &a, &b, &lo, &hi, &scale, &plot_w,
                          &marks, &n_kinds))
        return NULL;
    if (plot_w < 1 || n_kinds < 1 || a < 0 || b < a || lo < 0 || hi < lo) {
        PyErr_SetString(Unsupported, "svg_columns: arguments out of range");
        return NULL;
    }
    Col cols[3];
    PyObject *result = NULL, *cover_l = NULL, *starts_l = NULL, *first_l = NULL, *marks_d = NULL, *wide_l = NULL;
    double *cover = NULL;
    Py_ssize_t *starts = NULL, *first = NULL, *mark_first = NULL, *mark_count = NULL, *order = NULL;
    Py_ssize_t n = 0, n_order = 0, cells = plot_w * n_kinds;
    if (cols_open(objs, cols, 3, a, b) < 0 || kinds_ok(&cols[2], a, b, n_kinds) < 0) goto done;
    cover = PyMem_Calloc((size_t)cells, sizeof(double));
    starts = PyMem_Calloc((size_t)plot_w, sizeof(Py_ssize_t));
    first = PyMem_Malloc((size_t)plot_w * sizeof(Py_ssize_t));
    mark_first = PyMem_Malloc((size_t)cells * sizeof(Py_ssize_t));
    mark_count = PyMem_Calloc((size_t)cells, sizeof(Py_ssize_t));
    order = PyMem_Malloc((size_t)cells * sizeof(Py_ssize_t));
    wide_l = PyList_New(0);
    if (!cover || !starts || !first || !mark_first || !mark_count || !order) {
        PyErr_NoMemory();
        goto done;
    }
    if (!wide_l) goto done;
    for (Py_ssize_t c = 0; c < plot_w; c++) first[c] = -1;
    for (Py_ssize_t i = a; i < b; i++) {
        int64_t t = col_at(&cols[0], i), d = col_at(&cols[1], i);
        int code = (int)col_at(&cols[2], i);
        if (t < 0 || (d > 0 && t > INT64_MAX - d)) {  /* (the reader's times never are) */
            PyErr_SetString(Unsupported, "svg_columns: a negative time, or an end past 2**63");
            goto done;
        }
        int64_t end = t + d;
        if (end < lo) continue;  /* (in_range: it ends before the range) */
        n++;
        double x0 = (double)((t > lo ? t : lo) - lo) * scale;
        Py_ssize_t c0 = x0 >= (double)(plot_w - 1) ? plot_w - 1 : (Py_ssize_t)x0;
        if (marks[code]) {
            Py_ssize_t cell = c0 * n_kinds + code;
            if (!mark_count[cell]++) {
                mark_first[cell] = i;
                order[n_order++] = cell;
            }
            continue;
        }
        double x1 = (double)((end < hi ? end : hi) - lo) * scale;
        if (!(x1 <= (double)plot_w)) x1 = (double)plot_w;
        if (x1 - x0 >= 2.0) {  /* svg.WIDE */
            PyObject *item = Py_BuildValue("(ddin)", x0, x1, code, i);
            if (!item || PyList_Append(wide_l, item) < 0) {
                Py_XDECREF(item);
                goto done;
            }
            Py_DECREF(item);
            continue;
        }
        starts[c0]++;
        if (first[c0] < 0) first[c0] = i;
        Py_ssize_t c1 = x1 >= (double)(plot_w - 1) ? plot_w - 1 : (Py_ssize_t)x1;
        if (c0 == c1) {
            double w = x1 - x0;
            cover[c0 * n_kinds + code] += w >= 1e-6 ? w : 1e-6;
            continue;
        }
        cover[c0 * n_kinds + code] += (double)(c0 + 1) - x0;
        for (Py_ssize_t c = c0 + 1; c < c1; c++) cover[c * n_kinds + code] += 1.0;
        cover[c1 * n_kinds + code] += x1 - (double)c1;
    }
    cover_l = PyList_New(cells);
    starts_l = PyList_New(plot_w);
    first_l = PyList_New(plot_w);
    marks_d = PyDict_New();
    if (!cover_l || !starts_l || !first_l || !marks_d) goto done;
    for (Py_ssize_t k = 0; k < cells; k++) {
        PyObject *v = PyFloat_FromDouble(cover[k]);
        if (!v) goto done;
        PyList_SET_ITEM(cover_l, k, v);
    }
    for (Py_ssize_t c = 0; c < plot_w; c++) {
        PyObject *s = PyLong_FromSsize_t(starts[c]), *f = PyLong_FromSsize_t(first[c]);
        if (!s || !f) {
            Py_XDECREF(s);
            Py_XDECREF(f);
            goto done;
        }
        PyList_SET_ITEM(starts_l, c, s);
        PyList_SET_ITEM(first_l, c, f);
    }
    for (Py_ssize_t k = 0; k < n_order; k++) {
        Py_ssize_t cell = order[k];
        PyObject *key = Py_BuildValue("(nn)", cell / n_kinds, cell % n_kinds);
        PyObject *val = Py_BuildValue("[nn]", mark_first[cell], mark_count[cell]);
        int bad = !key || !val || PyDict_SetItem(marks_d, key, val) < 0;
        Py_XDECREF(key);
        Py_XDECREF(val);
        if (bad) goto done;
    }
    result = Py_BuildValue("(nOOOOO)", n, cover_l, starts_l, first_l, marks_d, wide_l);
done:
    for (int j = 0; j < 3; j++) col_close(&cols[j]);
    Py_XDECREF(cover_l);
    Py_XDECREF(starts_l);
    Py_XDECREF(first_l);
    Py_XDECREF(marks_d);
    Py_XDECREF(wide_l);
    PyMem_Free(cover);
    PyMem_Free(starts);
    PyMem_Free(first);
    PyMem_Free(mark_first);
    PyMem_Free(mark_count);
    PyMem_Free(order);
    return result;
}

/* ------------------------------------------------------------------ the module */
static PyMethodDef methods[] = {
    {"chrome_lane", chrome_lane, METH_VARARGS, chrome_lane_doc},
    {"csv_rows", csv_rows, METH_VARARGS, csv_rows_doc},
    {"perfetto_lane", perfetto_lane, METH_VARARGS, perfetto_lane_doc},
    {"svg_columns", svg_columns, METH_VARARGS, svg_columns_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef encode_module = {
    PyModuleDef_HEAD_INIT, "tracer.export._encode",
    "The exports' per-event loops in C (tracer/export/encode.py says when they are used).", -1, methods,
};

PyMODINIT_FUNC
PyInit__encode(void) {
    PyObject *m = PyModule_Create(&encode_module);
    if (!m) return NULL;
    Unsupported = PyErr_NewExceptionWithDoc("tracer.export._encode.Unsupported",
                                            "The columns are not ones this encoder reads: use the Python loop.",
                                            PyExc_TypeError, NULL);
    if (!Unsupported || PyModule_AddObject(m, "Unsupported", Unsupported) < 0 ||
        PyModule_AddIntConstant(m, "VERSION", ENCODE_VERSION) < 0) {
        Py_XDECREF(Unsupported);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(Unsupported);
    return m;
}
