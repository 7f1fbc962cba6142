"""``python -m sora2_widgets.emulator --port 8765``."""

from __future__ import annotations

import sys

from ._serve import main

if __name__ == "__main__":
    sys.exit(main())
