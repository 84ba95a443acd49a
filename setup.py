"""Only the optional C extensions live here; everything else is in pyproject.toml.

``tracer.recording._fastread`` is the reader's fast path for event lines
(tracer/recording/reader.py says why); built, and optional, like the hot path:

``tracer.run.headless._hotpath`` (recv/send/sendall of a traced socket, and event
formatting) is built when a C compiler and Python's headers are present.
Where they are not, the build goes on without it (pip shows why with -v):
``tracer.record.hotpath`` then picks the same code in Python, which costs the traced
server more (see ``bench/bench_recorder.py``); ``sockscope --version`` says
which one records.

``tracer.export._encode`` is the exports' per-event loops (Chrome JSON, CSV rows, Perfetto
packets; tracer/export/encode.py says when it is used); optional too: without it the same bytes
come from the Python loops, slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("tracer.record._hotpath", ["tracer/record/_hotpath.c"], optional=True),
                   Extension("tracer.recording._fastread", ["tracer/recording/_fastread.c"], optional=True),
                   Extension("tracer.export._encode", ["tracer/export/_encode.c"], optional=True)])
