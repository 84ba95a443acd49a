/*
 * tracer.record._hotpath: the recorder's event queue and the traced socket's
 * recv/recv_into/send/sendall, in C.
 *
 * Why by hand: in Python (tracer/record/net.py PyTracedIO, tracer/record/recorder.py's
 * deque) a traced recv or send costs ~5,000 instructions on CPython 3.11: a
 * Python frame, attribute lookups, two int subtractions, a tuple queued for
 * the writer, and later the writer formatting it holding the GIL.  That is
 * 11% of a keep-alive request to the pool server.  No library times a C call
 * and queues a record for us.  Here a traced call reads its state from C
 * fields and appends a plain struct; the writer formats a batch of structs
 * with the GIL released.  The module is optional: setup.py builds it when a
 * C compiler is present, and the Python versions are used when it is absent
 * (or with SOCKSCOPE_PURE_PYTHON=1); tests/test_hotpath.py holds the two to
 * the same output.
 *
 * Tap: one per recorder.  A queue of events in emission order (the order the
 * file gets), each (start - t0, duration, kind, lane, conn, nbytes) and,
 * for an event that carries a detail or does not fit, the whole tuple, which
 * the writer's Python callback formats.  Python code queues with
 * tap.emit(tuple); the traced socket queues from C.  Past max_pending queued
 * events, new ones are dropped and counted.  Every call here runs holding the
 * GIL, which is what keeps the queue consistent; take() releases it only
 * while formatting events it has already taken off the queue.
 *
 * TracedIO: a mixin over socket.socket with three C fields (_tap, conn,
 * why), so tracer.net's CTracedSocket(TracedIO, TracedSocket) reads them
 * without a dict lookup.  recv/recv_into/send/sendall time the call with
 * CLOCK_MONOTONIC (what time.monotonic_ns reads on Linux) or the recorder's
 * clock, and queue the event on the calling thread's lane.  A failed call
 * goes to the socket's _failed(kind, t, exc) in Python, then is re-raised;
 * a KeyboardInterrupt raised inside the wait is queued as the span so far,
 * marked "shutdown".  While a call waits, a node on the caller's C stack
 * links it into a list of calls in progress, which Tap.open_calls() reads
 * when a traced program stops (a thread still blocked in recv is drawn).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifdef Py_GIL_DISABLED
/* The queue relies on the GIL; a free-threaded build uses the Python versions. */
#error "tracer.record._hotpath needs the GIL: not built for a free-threaded Python"
#endif
#include <structmember.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <io.h>
#else
#include <pthread.h>
#include <unistd.h>
#endif

/* What tracer/record/hotpath.py expects (VERSION there): a build from older source,
   left behind in an editable install, is then not used. */
#define HOTPATH_VERSION 4

static PyObject *s_lane, *s_failed, *s_eof, *s_recv, *s_send, *s_shutdown;
static PyObject *sock_recv, *sock_send, *sock_sendall, *sock_recv_into; /* _socket.socket's own methods */

/* Their C functions, called directly (see direct_call), in the order RECV, SEND, SENDALL, RECV_INTO; NULL
   where the method is not the plain METH_VARARGS function it is in CPython 3.8-3.13 (then the descriptor's
   call is used).  Through the descriptor, every call checked that the traced socket is a _socket.socket,
   walking its subclass's whole MRO (callgrind: ~70 instructions a call, a third of the traced call's own). */
static PyCFunction sock_fns[4];

/* The calling thread's state, in one thread-local block: a shared library's _Thread_local costs a
   __tls_get_addr call for each variable a function touches. */
typedef struct {
    unsigned long long cached_serial, cached_generation; /* tap_lane's cache */
    long long cached_lane;
    int in_traced_call; /* see traced_call */
} ThreadState;

#if defined(__GNUC__) && defined(__linux__)
/* initial-exec: read at a fixed offset from the thread pointer, not through __tls_get_addr (a call a traced
   call, 20 instructions, callgrind).  glibc keeps room in the static TLS block for a library loaded later with
   a little of it (this is 32 bytes); where there is none, the import fails and the Python hot path is used. */
#define HOT_TLS __attribute__((tls_model("initial-exec")))
#else
#define HOT_TLS
#endif
static _Thread_local ThreadState thread_state HOT_TLS;

/* The traced calls in progress, all threads': one node on each caller's C stack, linked while the
   call blocks (the GIL held to link and unlink).  A program stopped while a thread waits in recv
   reads them (Tap.open_calls) and draws the wait to the stop, as the Python-level waits are. */
typedef struct OpenCall {
    struct OpenCall *prev, *next;
    void *tap;
    long long start, lane, conn;
    int which;
} OpenCall;

static OpenCall *open_calls = NULL;

#ifndef _WIN32
/* A forked child has only the forking thread: the other threads' nodes are not calls of its own. */
static void
forget_open_calls(void)
{
    open_calls = NULL;
}
#endif

/* ------------------------------------------------------------------ Tap */

typedef struct {
    long long start, dur, lane, conn, nbytes;
    PyObject *kind;   /* owned: Python's kind str whose text is kstr[:klen], or (a raw event, once taken) its
                         line; NULL for a C event (kstr is static text) and a raw event not yet taken */
    const char *kstr;
    Py_ssize_t klen;
    PyObject *raw;    /* the tuple as emitted (owned), for the Python formatter; else NULL */
} Ev;

typedef struct {
    PyObject_HEAD
    Ev *evs;
    Py_ssize_t len, cap, max_pending;
    long long dropped;
    long long interrupted; /* waits a KeyboardInterrupt ended, recorded marked "shutdown" */
    long long t0;
    unsigned long long serial, generation; /* for the per-thread lane cache */
    PyObject *local;         /* threading.local with .lane once declared */
    PyObject *declare_lane;  /* () -> lane, for a thread's first event */
    PyObject *clock;         /* None: CLOCK_MONOTONIC; else () -> int ns */
    /* What take() gave back, kept for the next batch (see tap_spare): a queue that starts empty each batch
       grew again by doubling, copying what it held in the traced thread, holding the GIL, and the
       writer's output buffer was a fresh allocation each time, both on fresh pages. */
    Ev *spare;
    Py_ssize_t spare_cap;
    char *out_buf;
    Py_ssize_t out_cap;
} Tap;

/* Buffers up to this size are kept between batches (about 4.5 MB of events, as much text); a larger one,
   left by a burst, is freed rather than held for as long as the recorder runs. */
#define SPARE_EVENTS_MAX 65536
#define SPARE_OUT_MAX (SPARE_EVENTS_MAX * 72)

static unsigned long long tap_serials = 0;

static PyTypeObject TapType;

static void
ev_release(Ev *ev)
{
    Py_CLEAR(ev->kind);
    Py_CLEAR(ev->raw);
}

static int
Tap_init(Tap *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"local", "declare_lane", "clock", "t0", "max_pending", NULL};
    PyObject *local, *declare_lane, *clock;
    long long t0;
    Py_ssize_t max_pending;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOLn", kwlist, &local, &declare_lane, &clock, &t0, &max_pending))
        return -1;
    if (!PyCallable_Check(declare_lane) || (clock != Py_None && !PyCallable_Check(clock))) {
        PyErr_SetString(PyExc_TypeError, "Tap: declare_lane and clock (unless None) must be callable");
        return -1;
    }
    if (max_pending < 1) {
        PyErr_SetString(PyExc_ValueError, "Tap: max_pending must be at least 1");
        return -1;
    }
    Py_INCREF(local); Py_XSETREF(self->local, local);
    Py_INCREF(declare_lane); Py_XSETREF(self->declare_lane, declare_lane);
    Py_INCREF(clock); Py_XSETREF(self->clock, clock);
    self->t0 = t0;
    self->max_pending = max_pending;
    self->serial = ++tap_serials;
    return 0;
}

static int
Tap_traverse(Tap *self, visitproc visit, void *arg)
{
    Py_VISIT(self->local);
    Py_VISIT(self->declare_lane);
    Py_VISIT(self->clock);
    for (Py_ssize_t i = 0; i < self->len; i++)
        Py_VISIT(self->evs[i].raw);
    return 0;
}

static int
Tap_clear(Tap *self)
{
    Py_CLEAR(self->local);
    Py_CLEAR(self->declare_lane);
    Py_CLEAR(self->clock);
    for (Py_ssize_t i = 0; i < self->len; i++)
        ev_release(&self->evs[i]);
    self->len = 0;
    return 0;
}

static void
Tap_dealloc(Tap *self)
{
    PyObject_GC_UnTrack(self);
    Tap_clear(self);
    PyMem_Free(self->evs);
    PyMem_Free(self->spare);
    PyMem_RawFree(self->out_buf);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
tap_now(Tap *tap, long long *out)
{
    if (tap->clock == Py_None) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        *out = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        return 0;
    }
    PyObject *v = PyObject_CallNoArgs(tap->clock);
    if (v == NULL)
        return -1;
    *out = PyLong_AsLongLong(v);
    Py_DECREF(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* The calling thread's lane on this tap, declared on first use.
   The last answer is cached per thread; any declare_lane (which calls
   lane_declared()) invalidates every thread's cache. */
static int
tap_lane(Tap *tap, ThreadState *ts, long long *out)
{
    if (ts->cached_serial == tap->serial && ts->cached_generation == tap->generation) {
        *out = ts->cached_lane;
        return 0;
    }
    PyObject *lane = PyObject_GetAttr(tap->local, s_lane);
    if (lane == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
        lane = PyObject_CallNoArgs(tap->declare_lane);
        if (lane == NULL)
            return -1;
    }
    long long v = PyLong_AsLongLong(lane);
    Py_DECREF(lane);
    if (v == -1 && PyErr_Occurred())
        return -1;
    ts->cached_serial = tap->serial;
    ts->cached_generation = tap->generation;
    ts->cached_lane = v;
    *out = v;
    return 0;
}

/* A free slot at the end of the queue, or NULL when max_pending events wait
   (the event is then dropped and counted) or memory ran out (error set). */
static Ev *
tap_slot(Tap *tap, int *error)
{
    *error = 0;
    if (tap->len >= tap->max_pending) {
        tap->dropped++;
        return NULL;
    }
    if (tap->len == tap->cap) {
        Py_ssize_t cap = tap->cap ? tap->cap * 2 : 1024;
        if (cap > tap->max_pending)
            cap = tap->max_pending;
        Ev *evs = PyMem_Realloc(tap->evs, cap * sizeof(Ev));
        if (evs == NULL) {
            PyErr_NoMemory();
            *error = 1;
            return NULL;
        }
        tap->evs = evs;
        tap->cap = cap;
    }
    return &tap->evs[tap->len++];
}

/* kind's text if it can go between JSON quotes as it is. */
static const char *
plain_kind(PyObject *kind, Py_ssize_t *len)
{
    if (!PyUnicode_CheckExact(kind) || !PyUnicode_IS_COMPACT_ASCII(kind))
        return NULL;
    const char *s = (const char *)PyUnicode_DATA(kind);
    Py_ssize_t n = PyUnicode_GET_LENGTH(kind);
    for (Py_ssize_t i = 0; i < n; i++)
        if (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20)
            return NULL;
    *len = n;
    return s;
}

static int
get_ll(PyObject *x, long long *out)
{
    int overflow;
    if (!PyLong_CheckExact(x))
        return 0;
    *out = PyLong_AsLongLongAndOverflow(x, &overflow);
    return !overflow && !(*out == -1 && PyErr_Occurred());
}

PyDoc_STRVAR(Tap_emit_doc, "emit(event) -> None: queue (start, duration, kind, lane, conn, nbytes[, detail]).");

static PyObject *
Tap_emit(Tap *self, PyObject *ev)
{
    if (!PyTuple_Check(ev) || PyTuple_GET_SIZE(ev) < 6) {
        PyErr_SetString(PyExc_TypeError, "emit() takes a tuple (start, duration, kind, lane, conn, nbytes[, detail])");
        return NULL;
    }
    int error;
    Ev *slot = tap_slot(self, &error);
    if (slot == NULL)
        return error ? NULL : Py_NewRef(Py_None);
    PyObject *kind = PyTuple_GET_ITEM(ev, 2);
    slot->kind = slot->raw = NULL;
    if (PyTuple_GET_SIZE(ev) == 6 && (slot->kstr = plain_kind(kind, &slot->klen)) != NULL &&
        get_ll(PyTuple_GET_ITEM(ev, 0), &slot->start) && get_ll(PyTuple_GET_ITEM(ev, 1), &slot->dur) &&
        get_ll(PyTuple_GET_ITEM(ev, 3), &slot->lane) && get_ll(PyTuple_GET_ITEM(ev, 4), &slot->conn) &&
        get_ll(PyTuple_GET_ITEM(ev, 5), &slot->nbytes)) {
        slot->kind = Py_NewRef(kind);
    } else {
        PyErr_Clear();
        slot->raw = Py_NewRef(ev); /* a detail, or something odd: Python formats it */
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Tap_lane_declared_doc, "lane_declared(): a thread got a new lane; forget every thread's cached lane.");

static PyObject *
Tap_lane_declared(Tap *self, PyObject *Py_UNUSED(ignored))
{
    self->generation++;
    Py_RETURN_NONE;
}

/* ---- formatting a batch */

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Out;

static int
out_reserve(Out *o, Py_ssize_t more) /* no GIL needed: plain malloc */
{
    if (o->len + more <= o->cap)
        return 0;
    Py_ssize_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + more)
        cap *= 2;
    char *b = PyMem_RawRealloc(o->buf, cap);
    if (b == NULL)
        return -1;
    o->buf = b;
    o->cap = cap;
    return 0;
}

/* "00" "01" ... "99": two digits per division (the writer formats every event; see format_batch). */
static const char DIGIT_PAIRS[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* How many decimal digits u has (1 for 0).  From its bit length: log10(2) ~ 1233/4096 gives the count or one
   less, one comparison tells.  Counting by dividing by 10 was a division a digit, 12 for a start time, five
   numbers an event: the formatter's main cost (callgrind: 350 instructions an event, this loop most of it). */
static const unsigned long long POW10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
    10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
    1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL,
    10000000000000000000ULL};

static inline int
digit_count(unsigned long long u)
{
#if defined(__GNUC__) || defined(__clang__)
    int bits = 64 - __builtin_clzll(u | 1);
    int t = (bits * 1233) >> 12; /* 10**t <= 2**bits: the count is t or t + 1 */
    return t + (u >= POW10[t]);
#else
    int n = 1;
    while (n < 20 && u >= POW10[n])
        n++;
    return n;
#endif
}

/* w's digits, as many as it has (digit_count), two a division by 100 (32 bits: a multiply and a shift). */
static inline char *
put_u32(char *p, unsigned w)
{
    char *end = p + digit_count(w), *q = end;
    while (w >= 100) {
        unsigned d = w % 100;
        w /= 100;
        q -= 2;
        memcpy(q, DIGIT_PAIRS + 2 * d, 2);
    }
    if (w >= 10) {
        q -= 2;
        memcpy(q, DIGIT_PAIRS + 2 * w, 2);
    } else {
        *--q = (char)('0' + w);
    }
    return end;
}

/* w (< 10**8) as exactly 8 digits, leading zeros kept: four pairs with no loop and no dependency between
   them (a start time's low digits: the loop above was a chain of divisions, one after the other). */
static inline char *
put_8(char *p, unsigned w)
{
    unsigned hi = w / 10000, lo = w % 10000;
    memcpy(p, DIGIT_PAIRS + 2 * (hi / 100), 2);
    memcpy(p + 2, DIGIT_PAIRS + 2 * (hi % 100), 2);
    memcpy(p + 4, DIGIT_PAIRS + 2 * (lo / 100), 2);
    memcpy(p + 6, DIGIT_PAIRS + 2 * (lo % 100), 2);
    return p + 8;
}

static inline char *
put_int(char *p, long long v) /* room reserved by the caller; returns the end */
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    if (v < 0)
        *p++ = '-';
    if (u < 10) { /* lanes, connections, most counts: one digit */
        *p = (char)('0' + u);
        return p + 1;
    }
    if (u < 100000000ULL) /* durations, byte counts, ids */
        return put_u32(p, (unsigned)u);
    /* a start time (ns since the recording began: 9 digits past 0.1 s, 12 past 17 minutes): its last 8
       digits in one go, the rest (below 10**8 until the recording is 115 days old) as a short number */
    unsigned long long top = u / 100000000ULL;
    unsigned low = (unsigned)(u % 100000000ULL);
    if (top < 100000000ULL) {
        p = put_u32(p, (unsigned)top);
    } else { /* past 10**16: the top 1-4 digits, then 8 */
        p = put_u32(p, (unsigned)(top / 100000000ULL));
        p = put_8(p, (unsigned)(top % 100000000ULL));
    }
    return put_8(p, low);
}

/* Write the events; a raw event's line was made in Python and sits in ev->kstr.
   Written through a local pointer, not o->buf[o->len++]: a char store may alias o->len, so the
   compiler reloaded it around every byte (measured with callgrind: 538 instructions an event before). */
static int
format_batch(Out *o, Ev *evs, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Ev *ev = &evs[i];
        if (ev->raw != NULL) {
            if (out_reserve(o, ev->klen) < 0)
                return -1;
            memcpy(o->buf + o->len, ev->kstr, ev->klen);
            o->len += ev->klen;
            continue;
        }
        if (o->len + 5 * 21 + ev->klen + 12 > o->cap && out_reserve(o, 5 * 21 + ev->klen + 12) < 0)
            return -1; /* (the test first, inline: out_reserve is a call the compiler keeps out of line) */
        char *p = o->buf + o->len;
        *p++ = '[';
        p = put_int(p, ev->start);
        *p++ = ',';
        p = put_int(p, ev->dur);
        *p++ = ',';
        *p++ = '"';
        if (ev->klen == 4) /* "recv", "send": a 4-byte move, not a call to memcpy of a length it learns then */
            memcpy(p, ev->kstr, 4);
        else
            memcpy(p, ev->kstr, ev->klen);
        p += ev->klen;
        *p++ = '"';
        *p++ = ',';
        p = put_int(p, ev->lane);
        *p++ = ',';
        p = put_int(p, ev->conn);
        *p++ = ',';
        p = put_int(p, ev->nbytes);
        *p++ = ']';
        *p++ = '\n';
        o->len = p - o->buf;
    }
    return 0;
}

PyDoc_STRVAR(Tap_take_doc,
"take(n, line[, head]) -> str: the first n queued events as JSON Lines, taken off the queue.\n\n"
"line(event_tuple) -> str makes the line (newline included) of an event queued raw.  With head (bytes:\n"
"UTF-8 lines that go first), bytes: head then the events' lines, made with the GIL released and handed\n"
"over as they are, for the file's binary buffer (no str made of the batch, decoded and encoded back).");

/* The bytes take(n, line, head) makes at most: the head and each event's line at its longest (what
   format_batch reserves for it), so that the lines are written into the bytes object itself without the
   GIL, which it needs to grow.  -1 past PY_SSIZE_T_MAX. */
static Py_ssize_t
batch_bound(Ev *evs, Py_ssize_t n, Py_ssize_t head_len)
{
    Py_ssize_t bound = head_len;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t line = evs[i].raw != NULL ? evs[i].klen : 5 * 21 + evs[i].klen + 12;
        if (bound > PY_SSIZE_T_MAX - line)
            return -1;
        bound += line;
    }
    return bound;
}

/* Take the first n events off the queue (n < 0 or past the end: all); the rest stay for next time, in
   the spare array (the last batch's, as big as it was), so that the queue need not grow again.  The
   taken events' array (NULL if the queue never held one) is handed back, with its capacity, for
   batch_done; -1 (error set) if memory ran out. */
static int
batch_detach(Tap *self, Py_ssize_t *n, Ev **taken, Py_ssize_t *evs_cap)
{
    if (*n < 0 || *n > self->len)
        *n = self->len;
    Ev *evs = self->evs;
    Py_ssize_t rest = self->len - *n;
    Ev *keep = self->spare;
    Py_ssize_t keep_cap = self->spare_cap;
    if (keep_cap < rest || keep_cap < 1024) {
        Py_ssize_t cap = rest < 1024 ? 1024 : rest;
        Ev *bigger = PyMem_Realloc(keep, cap * sizeof(Ev));
        if (bigger == NULL) {
            PyErr_NoMemory();
            return -1; /* nothing taken: the queue and the spare are as they were */
        }
        keep = bigger;
        keep_cap = cap;
    }
    self->spare = NULL;
    self->spare_cap = 0;
    if (rest > 0)
        memcpy(keep, evs + *n, rest * sizeof(Ev));
    *evs_cap = self->cap;
    self->evs = keep;
    self->cap = keep_cap;
    self->len = rest;
    *taken = evs;
    return 0;
}

/* Raw events' lines are Python's to make, holding the GIL: line(tuple) -> str, its UTF-8 kept in the
   event (kstr, klen) and alive by its reference (kind) until batch_done. */
static int
batch_raw_lines(Ev *evs, Py_ssize_t n, PyObject *line)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Ev *ev = &evs[i];
        if (ev->raw == NULL)
            continue;
        PyObject *text = PyObject_CallOneArg(line, ev->raw);
        if (text == NULL)
            return -1;
        if (!PyUnicode_Check(text)) {
            Py_DECREF(text);
            PyErr_SetString(PyExc_TypeError, "take(): line() must return str");
            return -1;
        }
        ev->kstr = PyUnicode_AsUTF8AndSize(text, &ev->klen);
        if (ev->kstr == NULL) {
            Py_DECREF(text);
            return -1;
        }
        ev->kind = text; /* keeps the UTF-8 alive */
    }
    return 0;
}

/* The taken events let go (a C event owns nothing: its kind is static text), their array kept as the
   next spare if it is not too big. */
static void
batch_done(Tap *self, Ev *evs, Py_ssize_t n, Py_ssize_t evs_cap)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (evs[i].kind != NULL || evs[i].raw != NULL)
            ev_release(&evs[i]);
    if (self->spare == NULL && evs_cap <= SPARE_EVENTS_MAX) {
        self->spare = evs;
        self->spare_cap = evs_cap;
    } else {
        PyMem_Free(evs);
    }
}

/* take() and write() begin alike: head (bytes, or NULL for none) checked, n read, the first n events detached,
   raw events' lines made.  -1 (error set): no batch (a line that failed lets its events go first, lost); 0: a
   batch of n events in *evs, ready to format, batch_done owed. */
static int
batch_begin(Tap *self, const char *name, PyObject *head, PyObject *n_obj, PyObject *line, Py_ssize_t *n, Ev **evs,
            Py_ssize_t *evs_cap)
{
    if (head != NULL && !PyBytes_Check(head)) {
        PyErr_Format(PyExc_TypeError, "%s(): head must be bytes", name);
        return -1;
    }
    *n = PyLong_AsSsize_t(n_obj);
    if (*n == -1 && PyErr_Occurred())
        return -1;
    if (batch_detach(self, n, evs, evs_cap) < 0)
        return -1;
    if (batch_raw_lines(*evs, *n, line) < 0) {
        batch_done(self, *evs, *n, *evs_cap);
        return -1;
    }
    return 0;
}

/* The output buffer for one batch (the last batch's, kept), and back to the tap after it. */
static Out
out_borrow(Tap *self)
{
    Out o = {self->out_buf, 0, self->out_cap}; /* another batch meanwhile (GIL released) makes its own */
    self->out_buf = NULL;
    self->out_cap = 0;
    return o;
}

static void
out_return(Tap *self, Out *o)
{
    if (self->out_buf == NULL && o->cap <= SPARE_OUT_MAX) {
        self->out_buf = o->buf;
        self->out_cap = o->cap;
    } else {
        PyMem_RawFree(o->buf);
    }
}

static PyObject *
Tap_take(Tap *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "take(n, line[, head])");
        return NULL;
    }
    PyObject *head = nargs == 3 ? args[2] : NULL;
    Py_ssize_t n, evs_cap;
    Ev *evs;
    if (batch_begin(self, "take", head, args[0], args[1], &n, &evs, &evs_cap) < 0)
        return NULL;
    PyObject *result = NULL;
    if (head != NULL) { /* bytes: the lines written straight into the object handed back */
        Py_ssize_t bound = batch_bound(evs, n, PyBytes_GET_SIZE(head));
        if (bound < 0) {
            PyErr_NoMemory();
            goto done;
        }
        if ((result = PyBytes_FromStringAndSize(NULL, bound)) == NULL)
            goto done;
        Out b = {PyBytes_AS_STRING(result), PyBytes_GET_SIZE(head), bound};
        memcpy(b.buf, PyBytes_AS_STRING(head), b.len);
        Py_BEGIN_ALLOW_THREADS
        format_batch(&b, evs, n); /* within the bound: never grows the buffer (not its to free) */
        Py_END_ALLOW_THREADS
        _PyBytes_Resize(&result, b.len); /* NULL (error set) if it failed */
        goto done;
    }
    Out o = out_borrow(self);
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = out_reserve(&o, n * 48 + 1) < 0 || format_batch(&o, evs, n) < 0;
    Py_END_ALLOW_THREADS
    if (failed)
        PyErr_NoMemory();
    else
        result = PyUnicode_DecodeUTF8(o.buf, o.len, "strict");
    out_return(self, &o);
done:
    batch_done(self, evs, n, evs_cap);
    return result;
}

PyDoc_STRVAR(Tap_write_doc,
"write(fd, n, line, head) -> int: the first n queued events, taken off the queue, written to the file\n"
"descriptor fd after head (bytes: UTF-8 lines that go first); the number of bytes written.\n\n"
"What take(n, line, head) makes, written by this call: the lines are made in the last batch's buffer and\n"
"written with write(2), both with the GIL released (no bytes object, no fresh pages each batch).  A\n"
"failed write raises OSError; the events taken are then lost (the caller counts them).");

/* Why by hand, not take()'s bytes and the file's write(): a fresh bytes object of a batch's bound (~125
   bytes an event, 1.3 MB for 10,000) landed on fresh pages every batch, ~80 page faults a batch in the
   writer thread, which a profile of the lesson's pool under load put at a tenth of the writer's time. */
static PyObject *
Tap_write(Tap *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "write(fd, n, line, head)");
        return NULL;
    }
    int fd = PyObject_AsFileDescriptor(args[0]);
    if (fd < 0)
        return NULL;
    PyObject *head = args[3];
    Py_ssize_t n, evs_cap;
    Ev *evs;
    if (batch_begin(self, "write", head, args[1], args[2], &n, &evs, &evs_cap) < 0)
        return NULL;
    PyObject *result = NULL;
    Out o = out_borrow(self);
    const char *head_text = PyBytes_AS_STRING(head);
    Py_ssize_t head_len = PyBytes_GET_SIZE(head), written = 0;
    int failed = 0, err = 0;
    Py_INCREF(head); /* read without the GIL */
    Py_BEGIN_ALLOW_THREADS
    if (out_reserve(&o, head_len + n * 48 + 1) < 0) {
        failed = 1;
    } else {
        memcpy(o.buf, head_text, head_len);
        o.len = head_len;
        failed = format_batch(&o, evs, n) < 0;
    }
    while (!failed && written < o.len) { /* a short write (a full disk, a signal) goes on from where it was */
        Py_ssize_t chunk = o.len - written;
#ifdef _WIN32
        int w = _write(fd, o.buf + written, (unsigned)(chunk > 0x40000000 ? 0x40000000 : chunk));
#else
        ssize_t w = write(fd, o.buf + written, (size_t)chunk);
#endif
        if (w < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            failed = 2;
        } else if (w == 0) {
            err = EIO;
            failed = 2;
        } else {
            written += w;
        }
    }
    Py_END_ALLOW_THREADS
    Py_DECREF(head);
    if (failed == 1) {
        PyErr_NoMemory();
    } else if (failed == 2) {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
    } else {
        result = PyLong_FromSsize_t(written);
    }
    out_return(self, &o);
    batch_done(self, evs, n, evs_cap);
    return result;
}

PyDoc_STRVAR(Tap_open_calls_doc,
"open_calls() -> [(kind, start, lane, conn)]: the traced recv/send calls on this tap still waiting,\n"
"start on the clock (not less t0); for drawing them to the end when the program stops.");

static PyObject *
Tap_open_calls(Tap *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    for (OpenCall *oc = open_calls; oc != NULL; oc = oc->next) {
        if (oc->tap != (void *)self)
            continue;
        PyObject *item = Py_BuildValue("(OLLL)", oc->which == 0 || oc->which == 3 ? s_recv : s_send,
                                       oc->start, oc->lane, oc->conn);
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    return list;
}

static PyObject *
Tap_pending(Tap *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->len);
}

static PyMethodDef Tap_methods[] = {
    {"emit", (PyCFunction)Tap_emit, METH_O, Tap_emit_doc},
    {"take", (PyCFunction)(void (*)(void))Tap_take, METH_FASTCALL, Tap_take_doc},
    {"write", (PyCFunction)(void (*)(void))Tap_write, METH_FASTCALL, Tap_write_doc},
    {"lane_declared", (PyCFunction)Tap_lane_declared, METH_NOARGS, Tap_lane_declared_doc},
    {"open_calls", (PyCFunction)Tap_open_calls, METH_NOARGS, Tap_open_calls_doc},
    {NULL}
};

static PyMemberDef Tap_members[] = {
    {"t0", T_LONGLONG, offsetof(Tap, t0), READONLY, "the clock value that is time 0"},
    {"dropped", T_LONGLONG, offsetof(Tap, dropped), READONLY, "events dropped because max_pending waited"},
    {"interrupted", T_LONGLONG, offsetof(Tap, interrupted), READONLY,
     "waits a KeyboardInterrupt ended, recorded marked \"shutdown\""},
    {"max_pending", T_PYSSIZET, offsetof(Tap, max_pending), READONLY, "how many events may wait"},
    {NULL}
};

static PyGetSetDef Tap_getset[] = {
    {"pending", (getter)Tap_pending, NULL, "events queued, not yet taken", NULL},
    {NULL}
};

static PyTypeObject TapType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer.record._hotpath.Tap",
    .tp_doc = "A recorder's event queue, fed from Python (emit) and from traced sockets.",
    .tp_basicsize = sizeof(Tap),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Tap_init,
    .tp_dealloc = (destructor)Tap_dealloc,
    .tp_traverse = (traverseproc)Tap_traverse,
    .tp_clear = (inquiry)Tap_clear,
    .tp_methods = Tap_methods,
    .tp_members = Tap_members,
    .tp_getset = Tap_getset,
};

/* ------------------------------------------------------------------ TracedIO */

typedef struct {
    PyObject *tap;  /* _tap: a Tap */
    long long conn; /* conn: the connection id, 0 for none */
    PyObject *why;  /* why: None, or the close reason the socket saw */
} HotFields;

static Py_ssize_t fields_at; /* offset of HotFields in an instance: socket.socket's size */
#define FIELDS(self) ((HotFields *)((char *)(self) + fields_at))

enum { RECV, SEND, SENDALL, RECV_INTO }; /* (open_calls: 0 and 3 are a recv) */

static const char *const call_names[] = {"recv", "send", "sendall", "recv_into"};

/* Queue a whole tuple (start, dur, kind, lane, conn, -1, detail), formatted by Python. */
static int
emit_with_detail(Tap *tap, long long t, long long t1, PyObject *kind, long long lane, long long conn,
                 PyObject *detail)
{
    PyObject *ev = Py_BuildValue("(LLOLLiO)", t - tap->t0, t1 - t, kind, lane, conn, -1, detail);
    if (ev == NULL)
        return -1;
    PyObject *r = Tap_emit(tap, ev);
    Py_DECREF(ev);
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

/* The call failed.  An OSError is recorded by self._failed(kind, t, exc), then re-raised.  A
   KeyboardInterrupt (the program's Ctrl-C, raised from inside the wait) still ends a wait that
   happened: recorded here as the span so far, marked "shutdown", as the Python-level waits are. */
static void
record_failure(PyObject *self, Tap *tap, int which, long long t, long long lane, long long conn)
{
    PyObject *kind = which == RECV || which == RECV_INTO ? s_recv : s_send;
    PyObject *type, *value, *tb;
    if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        long long t1;
        PyErr_Fetch(&type, &value, &tb);
        if (tap_now(tap, &t1) < 0 || emit_with_detail(tap, t, t1, kind, lane, conn, s_shutdown) < 0) {
            Py_XDECREF(type); Py_XDECREF(value); Py_XDECREF(tb); /* recording it failed: that error wins */
            return;
        }
        tap->interrupted++;
        PyErr_Restore(type, value, tb);
        return;
    }
    if (!PyErr_ExceptionMatches(PyExc_OSError))
        return; /* a wrong argument and the like: not a socket's doing */
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL)
        PyException_SetTraceback(value, tb);
    PyObject *tobj = PyLong_FromLongLong(t);
    PyObject *r = tobj ? PyObject_CallMethodObjArgs(self, s_failed, kind, tobj, value, NULL) : NULL;
    Py_XDECREF(tobj);
    if (r == NULL) { /* recording the failure failed: that error wins */
        Py_XDECREF(type); Py_XDECREF(value); Py_XDECREF(tb);
        return;
    }
    Py_DECREF(r);
    PyErr_Restore(type, value, tb);
}

/* How many traced calls the calling thread is inside (0 or 1: a failure handler could nest one).
   A stop signal's handler, run in the main thread from inside a recv/sendall's EINTR retry, asks
   in_call() and then does not raise between the call and its record (tracer/record/interrupts.py). */

static PyObject *traced_call_inner(ThreadState *ts, PyObject *self, int which, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames);

static PyObject *
traced_call(PyObject *self, int which, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    ThreadState *ts = &thread_state;
    ts->in_traced_call++;
    PyObject *res = traced_call_inner(ts, self, which, args, nargs, kwnames);
    ts->in_traced_call--;
    return res;
}

static PyObject *
hotpath_in_call(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(thread_state.in_traced_call > 0);
}

static PyMethodDef hotpath_methods[] = {
    {"in_call", hotpath_in_call, METH_NOARGS,
     "in_call()\n--\n\nWhether the calling thread is inside a traced recv/send/sendall (before its record)."},
    {NULL}
};

/* recv_into's byte count asked for: nbytes if given and not 0, else the buffer's size (only asked
   when it returned 0, to tell the peer's end from a call that asked for nothing). */
static Py_ssize_t
recv_into_asked(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *buffer = nargs > 0 ? args[0] : NULL, *nbytes = nargs > 1 ? args[1] : NULL;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_CompareWithASCIIString(name, "nbytes") == 0)
            nbytes = args[nargs + i];
        else if (PyUnicode_CompareWithASCIIString(name, "buffer") == 0)
            buffer = args[nargs + i];
    }
    if (nbytes != NULL) {
        Py_ssize_t n = PyLong_AsSsize_t(nbytes);
        if (n == -1 && PyErr_Occurred())
            return -1;
        if (n)
            return n;
    }
    Py_buffer view;
    if (buffer == NULL || PyObject_GetBuffer(buffer, &view, PyBUF_SIMPLE) < 0)
        return -1;
    Py_ssize_t len = view.len;
    PyBuffer_Release(&view);
    return len;
}

/* The argument tuples of the direct calls, kept for the next call once the socket function let go of
   theirs: a new tuple and its deallocation were ~140 instructions of each traced call (callgrind), a
   third of what tracing adds to it.  Guarded by the GIL (taken and given back holding it); a tuple in
   the pool holds no items and is not tracked by the GC (gc.get_objects() never shows it). */
#define ARGS_POOL 16
static PyObject *args_pool[3][ARGS_POOL]; /* by size: 1 or 2 */
static int args_pooled[3];

static PyObject *
args_tuple(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *tuple;
    if (nargs <= 2 && args_pooled[nargs] > 0) {
        tuple = args_pool[nargs][--args_pooled[nargs]];
    } else {
        if ((tuple = PyTuple_New(nargs)) == NULL)
            return NULL;
        if (PyObject_GC_IsTracked(tuple))
            PyObject_GC_UnTrack(tuple); /* no cycle can go through it: it is ours alone while it is reused */
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        PyTuple_SET_ITEM(tuple, i, Py_NewRef(args[i]));
    return tuple;
}

static void
args_done(PyObject *tuple, Py_ssize_t nargs)
{
    if (Py_REFCNT(tuple) != 1 || nargs < 1 || nargs > 2 || args_pooled[nargs] >= ARGS_POOL) {
        Py_DECREF(tuple); /* kept by the callee (never, for _socket's), or the pool is full */
        return;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) { /* an item's finalizer may run a traced call: not yet pooled */
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        PyTuple_SET_ITEM(tuple, i, NULL);
        Py_DECREF(item);
    }
    if (args_pooled[nargs] < ARGS_POOL)
        args_pool[nargs][args_pooled[nargs]++] = tuple;
    else
        Py_DECREF(tuple);
}

/* _socket.socket's recv/send/sendall/recv_into on self: its C function with the arguments as a tuple, as
   its descriptor would call it, less the descriptor's type check (self is a TracedIO, a socket.socket
   subclass: made so at import); through the descriptor where that cannot be done (keywords, another
   Python's methods). */
static PyObject *
call_socket(PyObject *self, int which, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyCFunction fn = sock_fns[which];
    if (fn == NULL || kwnames != NULL) {
        PyObject *callargs[5] = {self};
        Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
        for (Py_ssize_t i = 0; i < nargs + nkw; i++)
            callargs[i + 1] = args[i];
        PyObject *method = which == RECV ? sock_recv : which == SEND ? sock_send : which == SENDALL
                           ? sock_sendall : sock_recv_into;
        return PyObject_Vectorcall(method, callargs, nargs + 1, kwnames);
    }
    PyObject *tuple = args_tuple(args, nargs);
    if (tuple == NULL)
        return NULL;
    PyObject *res = which == RECV_INTO ? ((PyCFunctionWithKeywords)(void (*)(void))fn)(self, tuple, NULL)
                    : fn(self, tuple);
    args_done(tuple, nargs);
    if (res == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_SystemError, "a socket method returned NULL without an error");
    return res;
}

static PyObject *
traced_call_inner(ThreadState *ts, PyObject *self, int which, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (which == RECV_INTO ? nargs + nkw < 1 || nargs + nkw > 3 : nargs < 1 || nargs > 2 || nkw) {
        PyErr_Format(PyExc_TypeError, which == RECV_INTO ? "%s() takes 1 to 3 arguments (%zd given)"
                     : "%s() takes 1 or 2 arguments (%zd given)", call_names[which], nargs + nkw);
        return NULL;
    }
    HotFields *f = FIELDS(self);
    if (f->tap == NULL || !Py_IS_TYPE(f->tap, &TapType)) {
        PyErr_SetString(PyExc_TypeError, "a traced socket's _tap must be a tracer.record._hotpath.Tap");
        return NULL;
    }
    Tap *tap = (Tap *)Py_NewRef(f->tap); /* held: a failure handler could replace it */
    PyObject *res = NULL;
    long long t, t1, lane, conn = f->conn;
    if (tap_lane(tap, ts, &lane) < 0 || tap_now(tap, &t) < 0)
        goto done;

    /* while it waits, the call is readable at a stop (Tap.open_calls) */
    OpenCall oc = {NULL, open_calls, tap, t, lane, conn, which};
    if (open_calls != NULL)
        open_calls->prev = &oc;
    open_calls = &oc;
    res = call_socket(self, which, args, nargs, kwnames);
    if (oc.prev != NULL)
        oc.prev->next = oc.next;
    else
        open_calls = oc.next;
    if (oc.next != NULL)
        oc.next->prev = oc.prev;
    if (res == NULL) {
        record_failure(self, tap, which, t, lane, conn);
        goto done;
    }
    if (tap_now(tap, &t1) < 0)
        goto fail;

    Py_ssize_t n;
    if (which == RECV || which == RECV_INTO) {
        n = which == RECV_INTO ? PyLong_AsSsize_t(res) : PyBytes_Check(res) ? PyBytes_GET_SIZE(res)
            : PyObject_Size(res);
        if (n == 0 && (f->why == NULL || f->why == Py_None)) { /* the peer closed: the close says "eof" */
            Py_ssize_t asked = which == RECV ? 1 : recv_into_asked(args, nargs, kwnames);
            if (asked < 0)
                goto fail;
            if (asked > 0)
                Py_XSETREF(f->why, Py_NewRef(s_eof));
        }
    } else if (which == SEND) {
        n = PyLong_AsSsize_t(res);
    } else {
        n = PyBytes_Check(args[0]) ? PyBytes_GET_SIZE(args[0]) : PyObject_Size(args[0]);
    }
    if (n == -1 && PyErr_Occurred())
        goto fail;
    int error;
    Ev *ev = tap_slot(tap, &error);
    if (ev == NULL) {
        if (error)
            goto fail;
        goto done; /* dropped and counted */
    }
    int is_recv = which == RECV || which == RECV_INTO;
    ev->start = t - tap->t0;
    ev->dur = t1 - t;
    ev->lane = lane;
    ev->conn = f->conn;
    ev->nbytes = n;
    ev->kind = NULL; /* static text: no reference to take here and drop in the writer (its count's cache
                        line went back and forth between the serving threads' core and the writer's) */
    ev->kstr = is_recv ? "recv" : "send";
    ev->klen = 4;
    ev->raw = NULL;
    goto done;

fail:
    Py_CLEAR(res);
done:
    Py_DECREF(tap);
    return res;
}

static PyObject *
TracedIO_recv(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return traced_call(self, RECV, args, nargs, NULL);
}

static PyObject *
TracedIO_send(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return traced_call(self, SEND, args, nargs, NULL);
}

static PyObject *
TracedIO_sendall(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return traced_call(self, SENDALL, args, nargs, NULL);
}

static PyObject *
TracedIO_recv_into(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return traced_call(self, RECV_INTO, args, PyVectorcall_NARGS(nargsf), kwnames);
}

static PyMethodDef TracedIO_methods[] = {
    {"recv", (PyCFunction)(void (*)(void))TracedIO_recv, METH_FASTCALL,
     "recv(bufsize[, flags]) -> data, recorded as a recv span"},
    {"send", (PyCFunction)(void (*)(void))TracedIO_send, METH_FASTCALL,
     "send(data[, flags]) -> count, recorded as a send span"},
    {"sendall", (PyCFunction)(void (*)(void))TracedIO_sendall, METH_FASTCALL,
     "sendall(data[, flags]), recorded as a send span"},
    {"recv_into", (PyCFunction)(void (*)(void))TracedIO_recv_into, METH_FASTCALL | METH_KEYWORDS,
     "recv_into(buffer[, nbytes[, flags]]) -> nbytes_read, recorded as a recv span"},
    {NULL}
};

/* Offsets are filled in at import, once socket.socket's size is known.
   T_OBJECT_EX members of a heap type are traversed and cleared by CPython's
   subtype_traverse/subtype_dealloc, like a Python class's __slots__. */
static PyMemberDef TracedIO_members[] = {
    {"_tap", T_OBJECT_EX, 0, 0, "the recorder's Tap"},
    {"conn", T_LONGLONG, 0, 0, "connection id (0: none)"},
    {"why", T_OBJECT_EX, 0, 0, "the close reason this socket saw, or None"},
    {NULL}
};

static PyType_Slot TracedIO_slots[] = {
    {Py_tp_doc, "recv/send/sendall recorded as spans; mixed into tracer.net.CTracedSocket."},
    {Py_tp_methods, TracedIO_methods},
    {Py_tp_members, TracedIO_members},
    {0, NULL}
};

static PyType_Spec TracedIO_spec = {
    "tracer.record._hotpath.TracedIO", 0 /* set at import */, 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    TracedIO_slots,
};

/* ------------------------------------------------------------------ module */

static struct PyModuleDef hotpath_module = {
    PyModuleDef_HEAD_INIT, "tracer.record._hotpath",
    "The recorder's event queue and the traced socket's recv/send/sendall in C (optional; see tracer/record/net.py).",
    -1, hotpath_methods,
};

PyMODINIT_FUNC
PyInit__hotpath(void)
{
    PyObject *m = NULL, *sockmod = NULL, *socktype = NULL, *pysocket = NULL, *traced_io = NULL;
#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) goto error
    INTERN(s_lane, "lane");
    INTERN(s_failed, "_failed");
    INTERN(s_eof, "eof");
    INTERN(s_recv, "recv");
    INTERN(s_send, "send");
    INTERN(s_shutdown, "shutdown");
#undef INTERN
    if ((sockmod = PyImport_ImportModule("socket")) == NULL)
        goto error;
    if ((pysocket = PyObject_GetAttrString(sockmod, "socket")) == NULL)
        goto error;
    if (!PyType_Check(pysocket) || ((PyTypeObject *)pysocket)->tp_itemsize != 0) {
        PyErr_SetString(PyExc_ImportError, "socket.socket is not a class this module can extend");
        goto error;
    }
    socktype = (PyObject *)((PyTypeObject *)pysocket)->tp_base; /* _socket.socket */
    if (socktype == NULL || (sock_recv = PyObject_GetAttrString(socktype, "recv")) == NULL ||
        (sock_send = PyObject_GetAttrString(socktype, "send")) == NULL ||
        (sock_sendall = PyObject_GetAttrString(socktype, "sendall")) == NULL ||
        (sock_recv_into = PyObject_GetAttrString(socktype, "recv_into")) == NULL)
        goto error;
    PyObject *methods[4] = {sock_recv, sock_send, sock_sendall, sock_recv_into};
    for (int i = 0; i < 4; i++) {
        int flags = i == RECV_INTO ? METH_VARARGS | METH_KEYWORDS : METH_VARARGS;
        if (Py_IS_TYPE(methods[i], &PyMethodDescr_Type) &&
            ((PyMethodDescrObject *)methods[i])->d_common.d_type == (PyTypeObject *)socktype &&
            ((PyMethodDescrObject *)methods[i])->d_method->ml_flags == flags)
            sock_fns[i] = ((PyMethodDescrObject *)methods[i])->d_method->ml_meth;
    }
    fields_at = ((PyTypeObject *)pysocket)->tp_basicsize;
    TracedIO_members[0].offset = fields_at + offsetof(HotFields, tap);
    TracedIO_members[1].offset = fields_at + offsetof(HotFields, conn);
    TracedIO_members[2].offset = fields_at + offsetof(HotFields, why);
    TracedIO_spec.basicsize = (int)(fields_at + sizeof(HotFields));
    traced_io = PyType_FromSpecWithBases(&TracedIO_spec, pysocket);
    if (traced_io == NULL || PyType_Ready(&TapType) < 0)
        goto error;
    m = PyModule_Create(&hotpath_module);
    if (m == NULL)
        goto error;
    if (PyModule_AddObject(m, "TracedIO", traced_io) < 0)
        goto error;
    traced_io = NULL; /* the module's now */
    if (PyModule_AddIntConstant(m, "VERSION", HOTPATH_VERSION) < 0)
        goto error;
    int direct = 0;
    for (int i = 0; i < 4; i++)
        direct += sock_fns[i] != NULL;
    if (PyModule_AddIntConstant(m, "DIRECT_CALLS", direct) < 0) /* for the tests: the direct calls are used */
        goto error;
#ifndef _WIN32
    if (pthread_atfork(NULL, NULL, forget_open_calls) != 0) {
        PyErr_SetString(PyExc_ImportError, "pthread_atfork failed");
        goto error;
    }
#endif
    Py_INCREF(&TapType);
    if (PyModule_AddObject(m, "Tap", (PyObject *)&TapType) < 0) {
        Py_DECREF(&TapType);
        goto error;
    }
    Py_DECREF(sockmod);
    Py_DECREF(pysocket);
    return m;
error:
    Py_XDECREF(traced_io);
    Py_XDECREF(m);
    Py_XDECREF(sockmod);
    Py_XDECREF(pysocket);
    return NULL;
}
