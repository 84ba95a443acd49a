"""Inside the traced process: the traced socket, thread, pool and selector classes, the recorder that
queues their events, the formatter that writes them, and the optional C hot path (``_hotpath.c``)."""
