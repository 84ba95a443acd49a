from tracer.entry import main

raise SystemExit(main())
