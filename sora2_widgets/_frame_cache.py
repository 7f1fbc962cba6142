# TEMPORARY merge shim (issue 11): the lead removes this after merging; import from sora2_widgets.history._snapshot.
"""Re-exports of the DataFrame snapshot file's names, now in ``sora2_widgets.history._snapshot``."""

from .history._snapshot import FORMAT as FORMAT
from .history._snapshot import MAGIC as MAGIC
from .history._snapshot import Snapshot as Snapshot
from .history._snapshot import expected_header as expected_header
from .history._snapshot import read as read
from .history._snapshot import write as write
