import tracer

tracer._hold_ctrl_c()  # ``python -m tracer``: before anything else is imported (see tracer/__init__.py)

from tracer.entry import main  # noqa: E402

raise SystemExit(main())
