# TEMPORARY merge shim (issue 11): the lead removes this after merging; import from sora2_widgets.history.
"""Re-exports of the names other layers import from ``sora2_widgets._history`` today."""

from .history import ACTIVE_STATUSES as ACTIVE_STATUSES
from .history import STATUSES as STATUSES
from .history import History as History
from .history import HistoryRecord as HistoryRecord
from .history import from_micros as from_micros
from .history import new_owner_token as new_owner_token
from .history import scrub_params as scrub_params
from .history import to_micros as to_micros
