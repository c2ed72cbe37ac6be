from connect_pipeline.cli.main import main

raise SystemExit(main())
