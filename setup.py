"""Only the optional C hot path lives here; everything else is in pyproject.toml.

``tracer._hotpath`` (recv/send/sendall of a traced socket, and event
formatting) is built when a C compiler and Python's headers are present.
Where they are not, the build says so and goes on: ``tracer.net`` then uses
the same code in Python, which costs the traced server more (see
``bench/bench_recorder.py``).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("tracer._hotpath", ["tracer/_hotpath.c"], optional=True)])
