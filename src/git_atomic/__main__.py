from git_atomic.main import console_main

raise SystemExit(console_main())
