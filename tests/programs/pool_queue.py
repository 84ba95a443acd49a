"""A pool of one worker, busy while three more jobs queue behind it for a moment (well under the recorder's
5 ms beat), then all done and the pool shut down."""

import threading
from concurrent.futures import ThreadPoolExecutor

go = threading.Event()
pool = ThreadPoolExecutor(1)
first = pool.submit(go.wait, 5)
while pool._work_queue.qsize():  # the worker takes the first job
    pass
queued = [pool.submit(int) for _ in range(3)]
go.set()
for job in queued:
    job.result(timeout=5)
pool.shutdown(wait=True)
print("pool done")
