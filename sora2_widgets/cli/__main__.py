"""``python -m sora2_widgets.cli``."""

from . import main

raise SystemExit(main())
