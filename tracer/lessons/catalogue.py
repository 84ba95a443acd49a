"""Every lesson's words, in one place: one :class:`~tracer.lessons.guide.Lesson` per row of LESSONS.md.

A teacher adds a lesson here (a shipped recording from ``tracer/run/shipped.py``
and a few steps); a translator translates the strings here and nowhere else.
Each string is whole: sentences are never built from pieces, and ``{names}``
are filled with what the step's finder found in the recording (its lane, how
long, which client) and with the recording's facts (see
:func:`tracer.lessons.guide.facts`), so the numbers are always the recording's
own.  ``view`` names a finder (``tracer/lessons/guide.py``, ``FINDERS``).
"""

from __future__ import annotations

from tracer.lessons.guide import Lesson, Step
from tracer.locale import N_

_STREAM_LANES = "tcp-server,udp-server,client"  # lesson 16: the program's three threads, at 80x24 too

LESSONS: tuple[Lesson, ...] = (
    Lesson(1, N_("A blocking call puts the thread to sleep"), "thread-keepalive-blocking-recv.jsonl",
           N_("a worker sits inside recv until the client's bytes arrive"), (
               Step("activity", N_("Two keep-alive clients, each served by a thread of its own: recv-1 and recv-2. "
                                "The long {ink_recv} stretches are recv: the thread asked for bytes and is asleep in the "
                                "kernel until they come.")),
               Step("longest recv server bytes", N_("{lane} sat in recv for {dur}: its thread slept until {client} "
                                                 "sent its next request. Nothing ran on that thread meanwhile; "
                                                 "the kernel woke it when the bytes arrived."),
                    question=N_("Where does the client's send line up?"),
                    answer=N_("At the end of the recv: {client}'s send starts just before {end}, when {lane} wakes.")),
               Step("longest recv client bytes", N_("The other end: {lane} waits {dur} in recv for the reply ({ink_recv} on a "
                                                 "client lane, {arrow_in} when it arrives). Both ends block the same way."),
                    question=N_("How many requests did the server answer in all?"), answer=N_("{requests} requests.")),
           ), try_text=N_("Change think_ms and watch the recv spans stretch and shrink with it.")),
    Lesson(2, N_("Thread-per-connection grows threads with connections"), "thread-ramp-grows-threads.jsonl",
           N_("one new lane per arriving client; the threads counter climbs"), (
               Step("activity", N_("Clients arrive one every 100 ms. Each one gets a new thread, recv-N, that sits "
                                "in recv ({ink_recv}) for as long as its client stays: the lanes appear like a staircase.")),
               Step("last thread_start", N_("The last thread, {lane}, starts at {t}. The threads alive counter "
                                         "under the workers climbs one step per client."),
                    question=N_("How many server threads were alive at most?"),
                    answer=N_("{threads_max} threads alive at once, for {connections} connections."),
                    frame="activity"),
               Step("counter threads", N_("At its peak the counter reads {peak} at {at}. A thousand clients would "
                                       "mean a thousand threads, each with its own stack.")),
           ), try_text=N_("Raise clients and watch a lane, and a thread, appear for each.")),
    Lesson(3, N_("Threads are created per connection; a pool reuses them"), "thread-churn-thread-per-connection.jsonl",
           N_("many short connections: a thread_start/thread_exit pair each, against the same few pool workers"), (
               Step("activity", N_("{connections} short connections on thread-per-connection, each on a thread of "
                                "its own. Each lane opens with {mark_thread_start} (thread start) and ends with {mark_thread_exit} (exit); "
                                "{mark_close_exit} is a close and an exit in one cell."),
                    question=N_("How many threads did the server create?"), answer=N_("{threads_created} threads.")),
               Step("first thread_start server recv-*", N_("{lane} starts at {t} for connection {conn} and ends as "
                                                        "soon as it is served: creating and destroying a thread "
                                                        "costs every connection."),
                    frame="burst"),
               Step("activity", N_("The same {connections} connections on a pool of {workers} workers: the same "
                                "few worker lanes start connection after connection ({mark_start}), and no thread is made "
                                "per connection."), recording="pool-churn-reuses-workers.jsonl",
                    question=N_("How many connections did the busiest worker serve?"),
                    answer=N_("{most_served} connections, on {served_lanes} worker lanes.")),
           ), try_text=N_("Fire churn again with more connections: one more lane for each, each thread made and ended.")),
    Lesson(4, N_("A saturated pool queues connections"), "pool-saturated-queue.jsonl",
           N_("more slow clients than workers: submit → start gaps grow, the queue counter climbs"), (
               Step("activity", N_("16 clients, {workers} workers, and each request takes 200 ms of work ({ink_work}, the "
                                "handler sleeping as on a database). Only {workers} can be served at once; the "
                                "rest wait in the pool's queue: watch the pool queue counter.")),
               Step("conn queue_wait", N_("Connection {conn} waited {wait} in the pool's queue ({ink_queue} in the connection "
                                       "view) before {server_lane} picked it up: one 200 ms round per "
                                       "rank ahead of it."), by_connection=True,
                    question=N_("What is the longest wait in the pool's queue?"), answer=N_("{queue_max}.")),
               Step("counter queue", N_("The queue is deepest, {peak} connections, at {at}, then drains by "
                                     "{workers} every 200 ms as the workers come free."),
                    question=N_("How deep did the queue get?"), answer=N_("{peak_queue} connections.")),
           ), try_text=N_("Change workers or work_ms and watch the queue grow or vanish.")),
    Lesson(5, N_("The lesson's pool spends one worker on the accept loop"), "pool-as-taught-accept-worker.jsonl",
           N_("as taught, the accept loop is itself a pool task: 4 workers serve 3 at once"), (
               Step("activity", N_("The lesson's pool, as typed: the accept loop is submitted to the pool itself. "
                                "{workers} workers, but one of them runs accept ({ink_accept}) for good.")),
               Step("longest accept", N_("{lane} is a pool worker sitting in accept: it never serves a client. "
                                      "The others are pinned by idle clients sitting in recv."),
                    question=N_("How many connections did the server close?"),
                    answer=N_("{closed} of {connections}: {never_closed} were never closed."), frame="activity"),
               Step("conn queue_wait", N_("Connection {conn} waited {wait} in the queue: with one worker on accept "
                                       "there are only three left to serve."), by_connection=True),
               Step("activity", N_("With 1 worker the as-taught pool accepts and never serves: submit ({mark_submit}) with no "
                                "start, and every client gives up."),
                    recording="pool-as-taught-one-worker-never-serves.jsonl",
                    question=N_("How many clients timed out?"), answer=N_("{client_timeouts} clients.")),
           ), try_text=N_("Try more workers: one less than you ask for is ever free.")),
    Lesson(6, N_("A slow client pins a worker"), "pool-slowloris-stalls.jsonl",
           N_("slowloris clients: the pool stalls, thread grows lanes, selectors stays responsive"), (
               Step("activity", N_("4 slow clients dribble 3 bytes every 100 ms; 4 quick ones come too. On the "
                                "pool of {workers} workers the slow ones take every worker, each in recv ({ink_recv}).")),
               Step("conn queue_wait", N_("Quick connection {conn} waited {wait} in the pool's queue until a slow "
                                       "one let go of its worker."), by_connection=True,
                    question=N_("What is the longest wait in the pool's queue?"), answer=N_("{queue_max}.")),
               Step("activity", N_("Thread-per-connection: one lane per slow client, and the quick clients get "
                                "threads of their own at once."), recording="thread-slowloris-grows.jsonl",
                    question=N_("How many threads were alive at most?"), answer=N_("{threads_max} threads.")),
               Step("activity", N_("IO multiplexing: one lane. Each dribble is one short recv after a select ({ink_select}), "
                                "and the quick clients are answered in between."),
                    recording="selectors-slowloris-responsive.jsonl",
                    question=N_("How many server threads are there?"), answer=N_("{server_lanes}.")),
           ), try_text=N_("Fire slow clients at each model and compare.")),
    Lesson(7, N_("The listen backlog is a queue in the kernel"), "thread-backlog-kernel-queue.jsonl",
           N_("accept paused, a burst of connects: connect completes long before accept"), (
               Step("activity", N_("The accept loop starts 1.5 s late, with backlog {backlog}. The clients connect "
                                "anyway: the kernel completes the handshake and queues them.")),
               Step("conn backlog_wait", N_("Connection {conn} waited {wait} in the kernel's backlog ({ink_backlog}): its "
                                         "client's connect returned long before the server's accept took it."),
                    by_connection=True, question=N_("How many connections did the kernel hold at most?"),
                    answer=N_("{peak_backlog} (backlog {backlog}, plus one).")),
               Step("longest connect client", N_("{lane}'s connect ({ink_connect}) is the longest: the queue was full, its SYN was "
                                              "dropped, and the kernel retried later."),
                    question=N_("How long was the longest connect?"), answer=N_("{dur}, on {lane}.")),
           ), try_text=N_("Change backlog and pause_ms and watch who waits where.")),
    Lesson(8, N_("Idle connections cost a thread each, or nothing"), "thread-idle-connections.jsonl",
           N_("100 idle + 5 busy clients: 100 lanes in recv on thread, one lane on selectors"), (
               Step("activity", N_("100 idle connections and 5 busy ones on thread-per-connection: one lane, and "
                                "one thread, per connection, most of them asleep in recv."),
                    question=N_("How many server threads were alive at most?"), answer=N_("{threads_max} threads.")),
               Step("activity", N_("The same clients on selectors: one lane. Idle sockets only sit in the "
                                "selector; they cost no thread."), recording="selectors-idle-one-lane.jsonl",
                    question=N_("How many server lanes are there?"), answer=N_("{server_lanes}.")),
           ), try_text=N_("Fire idle connections and watch the lanes (and the threads counter).")),
    Lesson(9, N_("CPU-bound handlers gain nothing from threads (the GIL)"), "thread-cpu-gil.jsonl",
           N_("8 threads compute 50 ms each: the work stretches, one runs at a time"), (
               Step("activity", N_("8 clients at once, each request computing 50 ms ({ink_cpu}, the handler holding the "
                                   "GIL). 8 threads run them \"at the same time\".")),
               Step("longest work", N_("{lane}'s 50 ms of work took {dur}: the threads take turns on the GIL, so "
                                       "each one's work stretches and none finishes sooner."),
                    question=N_("How long did the slowest connection take to serve?"), answer=N_("{service_max}.")),
           ), try_text=N_("Change cpu_ms or clients: latency grows, throughput does not.")),
    Lesson(10, N_("IO multiplexing serves everyone from one thread"), "selectors-one-thread-serves-all.jsonl",
           N_("selectors: one lane doing select, accept, recv, send for every client"), (
               Step("activity", N_("20 clients on selectors. One lane does everything: select ({ink_select}), accept, recv, "
                                   "send and close, for every client."),
                    question=N_("How many threads does this server have?"), answer=N_("{server_lanes}.")),
               Step("last accept", N_("{lane} accepts connection {conn} at {t}: the same lane that waits in select, "
                                      "receives and sends. It sleeps only when no socket is ready."), frame="burst",
                    question=N_("How many connections did this one lane serve?"), answer=N_("{connections}.")),
           ), try_text=N_("Fire a bigger burst: still one lane.")),
    Lesson(11, N_("A blocking call inside an event loop freezes every client"), "selectors-blocking-handler-freezes.jsonl",
           N_("a handler that sleeps in selectors: the one lane stops, every client waits"), (
               Step("activity", N_("5 clients on selectors, and a handler that sleeps 200 ms ({ink_work}) inside the loop.")),
               Step("longest work", N_("While {lane} sleeps in work for {dur}, no select, no accept, no recv: "
                                       "every other client waits its turn."), frame="activity",
                    question=N_("How long was the slowest connection in service?"), answer=N_("{service_max}.")),
           ), try_text=N_("Try the same with --work-ms on thread: the others go on.")),
    Lesson(12, N_("The lesson's own bugs"), "thread-as-taught-no-close.jsonl",
           N_("as taught: one recv per connection, no close although the reply says keep-alive"), (
               Step("activity", N_("The lesson's handler, as typed: one recv, one send, then the thread ends ({mark_thread_exit}) "
                                   "without close. The reply says keep-alive, so each client sends a second "
                                   "request.")),
               Step("first thread_exit server recv-*", N_("{lane} ends at {t} without closing its socket. There is "
                                                          "no close event on any server lane."),
                    question=N_("How many connections did the server close?"),
                    answer=N_("{closed}: {never_closed} of {connections} were never closed."), frame="activity"),
               Step("first close client", N_("Yet {lane} got end-of-file: when the handler's thread ended, "
                                             "nothing referred to its socket any more, and Python's garbage "
                                             "collection closed it. That close is not traced."), frame="conn",
                    question=N_("How many clients got end-of-file, and how many waited?"),
                    answer=N_("{client_eofs} got end-of-file; {client_timeouts} timed out.")),
               Step("longest recv client", N_("{lane} waited {dur} and timed out: the accept loop's variable conn "
                                              "still refers to the last socket it accepted, so that one is never "
                                              "collected. sockscope check lists the connections never closed.")),
           ), try_text=N_("Run it without --as-taught: every connection closes.")),
    Lesson(13, N_("How much faster is IO multiplexing?"), "selectors-one-thread-serves-all.jsonl",
           N_("sockscope bench measures requests per second per model; here, one lane's service times"), (
               Step("activity", N_("One event loop served {connections} connections. A thread costs a stack and a "
                                   "switch; here there is neither.")),
               Step("conn service", N_("Its slowest connection, {conn}, was served in {wait}."),
                    question=N_("How many requests were answered?"), answer=N_("{requests}.")),
           ), try_text=N_("sockscope bench runs every model at rising concurrency and prints a table.")),
    Lesson(14, N_("Both ends of the conversation"), "single-both-ends.jsonl",
           N_("client lanes and server lanes on one axis: connect, accept, request, response, close"), (
               Step("activity", N_("Client lanes and the server's one lane share one time axis. The single-threaded "
                                   "server serves one client at a time (50 ms of work each).")),
               Step("first connect client", N_("{lane} connects ({ink_connect}) at {t}; the server's accept returns with it, "
                                               "its request goes out ({arrow_out}) and the reply comes back ({arrow_in})."),
                    frame="conn"),
               Step("conn backlog_wait", N_("Connection {conn} waited {wait} in the kernel's backlog ({ink_backlog}) while the "
                                            "server was busy with the clients before it."), by_connection=True,
                    question=N_("Which client waited longest in the backlog?"), answer=N_("{client}, {wait}.")),
           ), try_text=N_("Fire more clients and watch the backlog wait grow with each.")),
    Lesson(15, N_("Where each connection's time went"), "pool-saturated-queue.jsonl",
           N_("per connection: waiting in the backlog, in the pool queue, in service"), (
               Step("activity", N_("One row per connection: {ink_backlog} in the kernel's backlog, {ink_queue} in the pool's queue, then "
                                   "served on a worker."), by_connection=True),
               Step("conn queue_wait", N_("Connection {conn}: {backlog_wait} in the backlog, {queue_wait} in the "
                                          "pool's queue, {service} in service. The detail panel says the same in "
                                          "words."), by_connection=True,
                    question=N_("What is the longest service time?"), answer=N_("{service_max}.")),
           ), try_text=N_("sockscope export FILE --format md tabulates these waits for every connection.")),
    Lesson(16, N_("TCP is a byte stream, UDP keeps datagrams"), "tcp-stream-udp-datagrams.jsonl",
           N_("three small messages: one TCP recv runs them together, UDP recvfrom keeps each whole"), (
               Step("activity", N_("One program, both protocols. The client lane sends the same three 5-byte "
                                   "messages ({arrow_out}) to tcp-server over TCP and to udp-server over UDP, one send "
                                   "each. Both servers start reading only once all three are sent."),
                    lanes=_STREAM_LANES),
               Step("first recv server tcp-* bytes", N_("{lane}'s recv at {t} returned {bytes} bytes: all three "
                                                        "messages run together. TCP is a byte stream: it keeps "
                                                        "the bytes in order, not where one send ended."),
                    lanes=_STREAM_LANES,
                    question=N_("How many recv calls returned bytes on tcp-server, and how many bytes each?"),
                    answer=N_("{count}: {sizes} bytes.")),
               Step("first recv server udp-* bytes", N_("{lane}'s first recvfrom returned {bytes} bytes: one "
                                                        "datagram, exactly as it was sent. UDP keeps each "
                                                        "message whole, so three sendto take three recvfrom."),
                    frame="activity", lanes=_STREAM_LANES,
                    question=N_("How many recvfrom did udp-server need, and how many bytes each?"),
                    answer=N_("{count}: {sizes} bytes.")),
           ), try_text=N_("Remove sent.wait(5) from the servers, or send more, and run it again: TCP's recv "
                          "may return the messages together, one by one or cut in two; UDP's never.")),
    Lesson(17, N_("Many threads cost context switches"), "thread-context-switches.jsonl",
           N_("thread-per-connection under a burst: the switch counters climb; the event loop barely moves"), (
               Step("activity", N_("50 clients at once on thread-per-connection. Under the workers, two counters: "
                                   "context switches where a thread waited (voluntary) and where the kernel took "
                                   "the CPU away (involuntary).")),
               Step("counter ctx_voluntary", N_("By {at} the threads had switched {peak} times: every blocking "
                                                "call, every hand-over of the GIL."),
                    question=N_("How many voluntary context switches?"), answer=N_("{peak_ctx_voluntary}.")),
               Step("counter ctx_voluntary", N_("The same burst on selectors: one thread, so fewer switches: no "
                                                "thread to start, none to hand the GIL to."),
                    recording="selectors-context-switches.jsonl",
                    question=N_("How many voluntary context switches here?"), answer=N_("{peak_ctx_voluntary}.")),
           ), try_text=N_("Fire bigger bursts at thread and at selectors and compare the counters.")),
    Lesson(18, N_("The lesson's own code, as a student typed it"), "thread-server-as-typed.jsonl",
           N_("the lesson's thread and pool servers, unmodified, under sockscope run"), (
               Step("activity", N_("The lesson's thread server, as typed, run by sockscope record. The lanes "
                                   "have the code's own names: accept, the accepting thread, and recv-N, one "
                                   "thread per connection. Three keep-alive clients send two requests each.")),
               Step("last accept server accept", N_("{lane} accepts connection {conn} at {t}: every accept is "
                                                    "on the accepting thread, and each recv-N thread starts "
                                                    "just after it."), frame="activity",
                    question=N_("How many connections did the accept lane accept?"), answer=N_("{count}.")),
               Step("first thread_exit server recv-*", N_("{lane} ends at {t} without closing its socket: the "
                                                          "code has no close, and no server lane has a close "
                                                          "event. sockscope check lists each connection as never "
                                                          "closed."), frame="activity",
                    question=N_("How many connections did the server close?"),
                    answer=N_("{closed}: {never_closed} of {connections} were never closed.")),
               Step("first accept server ThreadPoolExecutor-0_0", N_("The lesson's pool server, as typed: "
                                                                     "executor.submit(accept, server) makes the "
                                                                     "accept loop a pool task, so {lane}, the "
                                                                     "pool's first worker, sits in accept for good "
                                                                     "and never serves a client."),
                    recording="pool-server-as-typed.jsonl", frame="activity",
                    question=N_("How many workers served a client?"),
                    answer=N_("{served_lanes}, none of them {lane}; {never_closed} of {connections} "
                              "connections were never closed.")),
           ), try_text=N_("Add conn.close() after conn.send(response), and start the accept loop in a "
                          "threading.Thread of its own: run it again and every lane changes.")),
)


def get(number: int) -> Lesson | None:
    return next((lesson for lesson in LESSONS if lesson.number == number), None)
