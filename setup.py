"""Only the optional C hot path lives here; everything else is in pyproject.toml.

``tracer.run.headless._hotpath`` (recv/send/sendall of a traced socket, and event
formatting) is built when a C compiler and Python's headers are present.
Where they are not, the build goes on without it (pip shows why with -v):
``tracer.record.hotpath`` then picks the same code in Python, which costs the traced
server more (see ``bench/bench_recorder.py``); ``sockscope --version`` says
which one records.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("tracer.record._hotpath", ["tracer/record/_hotpath.c"], optional=True)])
