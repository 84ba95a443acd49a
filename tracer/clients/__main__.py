"""``python -m tracer.clients HOST:PORT --scenario NAME --record FILE``: see :mod:`tracer.clients.program`."""

import sys

from tracer.clients.program import main

sys.exit(main())
