from npp.cli import main

raise SystemExit(main())
